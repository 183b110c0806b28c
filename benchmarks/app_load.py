"""Load tests of the explorer's `generate` endpoint.

Burst: C concurrent clients × R requests each; reports errors, latency percentiles and throughput.

    python benchmarks/app_load.py                      # 50 clients × 20 requests; starts `python app.py` itself
    python benchmarks/app_load.py --url http://127.0.0.1:7860/ --clients 50 --requests 20

Soak: N calls from a few clients, each call a new Gradio session (as API calls are); prints the server's resident
memory (RSS), the requests/s of the last stretch and the size of its Gradio cache every `--every` calls, so growth
with age shows. It starts the server itself, with its own cache folder (GRADIO_TEMP_DIR).

    python benchmarks/app_load.py --soak 20000 --every 1000 --clients 4

Only ever point it at 127.0.0.1 or a server you run.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
        codes = {"slant": round(rng.uniform(-2, 2), 2)} if model == "mnist" else {}
        t = time.perf_counter()
        try:
            call(rng.randrange(10_000), codes)
            times.append((time.perf_counter() - t) * 1e3)
        except Exception as err:  # counted and reported: the point is to see them
            errors.append(f"{type(err).__name__}: {err}")
    client.close()
    return times, errors


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def soak(url: str, pid: int, model: str, total: int, every: int, clients: int, cache: Path | None) -> list[dict]:
    """`total` /generate calls over plain HTTP from `clients` threads; one row of figures every `every` calls."""
    import httpx

    rows: list[dict] = []
    done, errors, lock = [0], [0], threading.Lock()
    mark = [time.perf_counter(), 0]

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(timeout=120) as http:
            while True:
                with lock:
                    if done[0] >= total:
                        return
                    done[0] += 1
                    n = done[0]
                codes = {"slant": round(rng.uniform(-2, 2), 2)} if model == "mnist" else {}
                try:
                    call_generate_http(http, url, model, rng.randrange(10_000), codes)
                except Exception:
                    with lock:
                        errors[0] += 1
                if n % every == 0:
                    with lock:
                        now = time.perf_counter()
                        row = {"calls": n, "rss_mb": round(rss_mb(pid), 1),
                               "requests_per_s": round((n - mark[1]) / (now - mark[0]), 1), "errors": errors[0],
                               "cache_mb": round(folder_mb(cache), 1) if cache else None,
                               "load_avg": round(os.getloadavg()[0], 1)}  # fmt: skip
                        mark[:] = [now, n]
                        rows.append(row)
                        print("  ".join(f"{k} {v}" for k, v in row.items()), flush=True)

    with httpx.Client(timeout=60) as http:  # warm-up, not counted
        for i in range(20):
            call_generate_http(http, url, model, i, {})
    print(f"start: rss_mb {rss_mb(pid):.1f} after 20 warm-up calls", flush=True)
    mark[0] = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="load a running explorer instead of launching one")
    parser.add_argument("--checkpoints", default=str(ROOT / "checkpoints"), help="checkpoint folders to serve")
    parser.add_argument("--model", default="mnist", help="model name to request")
    parser.add_argument("--clients", type=int, default=50, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=20, help="requests per client")
    parser.add_argument("--transport", choices=["client", "http"], default="client",
                        help="gradio_client, or Gradio's plain HTTP API via httpx (less client CPU)")  # fmt: skip
    parser.add_argument("--soak", type=int, metavar="N", help="soak test: N calls in all (plain HTTP)")
    parser.add_argument("--every", type=int, default=1000, help="soak: print a row every this many calls")
    parser.add_argument("--server-pid", type=int, help="soak with --url: the server's process id (for its RSS)")
    args = parser.parse_args()

    if args.soak:
        server, url, cache = None, args.url, None
        if url is None:
            cache = Path(tempfile.mkdtemp(prefix="soak-gradio-cache-"))
            server, url = spawn_server(args.checkpoints, env={"GRADIO_TEMP_DIR": str(cache)})
        pid = server.pid if server is not None else args.server_pid
        if pid is None:
            parser.error("--soak with --url needs --server-pid")
        print(f"soak: {args.soak} /generate calls, {args.clients} clients, on {url} ({os.cpu_count()} CPUs)")
        rows = soak(url, pid, args.model, args.soak, args.every, args.clients, cache)
        if rows:
            first, last = rows[0], rows[-1]
            print(f"summary: RSS {first['rss_mb']} MB at {first['calls']} calls → {last['rss_mb']} MB at "
                  f"{last['calls']}; {first['requests_per_s']} → {last['requests_per_s']} requests/s; "
                  f"errors {last['errors']}")  # fmt: skip
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        return

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
