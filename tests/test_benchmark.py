"""The benchmark script runs and reports what docs/testing.md quotes (on the tiny preset, a few steps)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import FIXTURES, REPO_ROOT


def test_train_speed_benchmark_prints_throughput_and_latency(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("train_speed", REPO_ROOT / "benchmarks" / "train_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    args = ["--preset", str(FIXTURES / "tiny.json"), "--steps", "3", "--warmup", "1", "--calls", "5", "--threads", "1"]
    assert module.main(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["preset"] == "tiny" and result["threads"] == 1 and result["machine"].startswith("CPU")
    assert result["train_images_per_s"] > 0 and 0 < result["generate_p50_ms"] <= result["generate_p95_ms"]
    assert module.percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert module.percentile([1.0, 2.0], 95) == pytest.approx(1.95)


def test_ddp_speed_worker_prints_global_throughput(capsys: pytest.CaptureFixture[str]) -> None:
    """The part of benchmarks/ddp_speed.py each torchrun process runs, here as one process (no launcher)."""
    spec = importlib.util.spec_from_file_location("ddp_speed", REPO_ROOT / "benchmarks" / "ddp_speed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--worker", "--preset", str(FIXTURES / "tiny.json"), "--steps", "2", "--warmup", "1"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["processes"] == 1 and result["preset"] == "tiny" and result["images_per_s"] > 0
    with pytest.raises(SystemExit, match="PROCESSESxTHREADS"):
        module.main(["--runs", "2"])


@pytest.mark.slow
def test_crash_resume_benchmark_survives_kills() -> None:
    import subprocess
    import sys

    command = [sys.executable, str(REPO_ROOT / "benchmarks" / "crash_resume.py"), "--kills", "2", "--steps", "12"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "kills 2; model/ loaded after 2 of them" in result.stdout
    assert "final weights bit-identical to the straight run: True" in result.stdout
