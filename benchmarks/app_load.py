"""Bounded load test of the explorer's `generate` endpoint: C concurrent `gradio_client` clients × R requests each.

    python benchmarks/app_load.py                      # 50 clients × 20 requests; starts `python app.py` itself
    python benchmarks/app_load.py --url http://127.0.0.1:7860/ --clients 50 --requests 20

Reports errors, latency percentiles and throughput. Only ever point it at 127.0.0.1 or a server you run.
"""

from __future__ import annotations

import argparse
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from app_latency import ROOT, call_generate_http, percentile, spawn_server


def run_client(
    url: str, model: str, requests: int, barrier: threading.Barrier, transport: str
) -> tuple[list[float], list[str]]:
    """One user: connect, wait for everyone, then send `requests` generate calls back to back."""
    import httpx
    from gradio_client import Client

    if transport == "client":
        client = Client(url, verbose=False, analytics_enabled=False, download_files=False)
    else:
        client = httpx.Client(timeout=120)

    def call(seed: int, codes: dict) -> None:
        if transport == "client":
            client.predict(model, seed, codes, api_name="/generate")
        else:
            call_generate_http(client, url, model, seed, codes)

    rng = random.Random()
    times, errors = [], []
    barrier.wait()
    for _ in range(requests):
        codes = {"c2": round(rng.uniform(-2, 2), 2)} if model == "mnist" else {}
        t = time.perf_counter()
        try:
            call(rng.randrange(10_000), codes)
            times.append((time.perf_counter() - t) * 1e3)
        except Exception as err:  # counted and reported: the point is to see them
            errors.append(f"{type(err).__name__}: {err}")
    client.close()
    return times, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="load a running explorer instead of launching one")
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"), help="checkpoint folders to serve")
    parser.add_argument("--model", default="mnist", help="model name to request")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--transport", choices=["client", "http"], default="client",
                        help="gradio_client, or Gradio's plain HTTP API via httpx (less client CPU)")  # fmt: skip
    args = parser.parse_args()

    server, url = None, args.url
    if url is None:
        server, url = spawn_server(args.checkpoints)
    barrier = threading.Barrier(args.clients)
    start = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        job = (run_client, url, args.model, args.requests, barrier, args.transport)
        futures = [pool.submit(*job) for _ in range(args.clients)]
        results = [f.result() for f in futures]
    wall = time.perf_counter() - start
    times = [t for r in results for t in r[0]]
    errors = [e for r in results for e in r[1]]
    total = args.clients * args.requests
    print(f"{args.clients} {args.transport} clients × {args.requests} requests = {total} on {url} "
          f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end)")  # fmt: skip
    print(f"errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))
    if times:
        print(f"latency: p50 {percentile(times, 50):.0f} ms, p95 {percentile(times, 95):.0f} ms, "
              f"max {max(times):.0f} ms")  # fmt: skip
    print(f"wall time {wall:.1f} s (incl. connecting), throughput {len(times) / wall:.0f} images/s")
    if server is not None:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
