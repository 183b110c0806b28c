"""Pick the compute device: CUDA, then Apple MPS, then CPU — and describe it for model cards."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """'auto' picks cuda > mps > cpu; an explicit name must be available here."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available here; use --device auto or cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' requested but MPS is not available here; use --device auto or cpu")
    return device


def describe_hardware(device: torch.device) -> str:
    """A short human description, e.g. 'CPU: AMD EPYC 7B13 (2 cores)' or 'CUDA: NVIDIA A100'."""
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"CPU: {model} ({os.cpu_count()} cores)"
