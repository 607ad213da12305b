"""What a result was measured on: CPU and GPU model, core and thread counts, library versions.

Floating-point results are reproducible only on the same hardware and software with the same
thread count (see the README's "Reproducibility"), so every run records this next to its
numbers (``result.json`` of ``hsearch train``, ``config.yaml`` of the workflows).
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else platform's guess; "" if unknown)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


def machine_info(device: str | None = None) -> dict:
    """Plain data describing this machine and the torch set-up that trains here.

    device: the training device, recorded as given. torch_threads is torch's current CPU thread
    count (the caller sets it first). gpus: the CUDA device names, empty without CUDA.
    """
    import torch

    gpus = ([torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            if torch.cuda.is_available() else [])
    info = {
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpus": gpus,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": str(torch.__version__),
    }
    if device is not None:
        info["device"] = str(device)
    if torch.version.cuda and gpus:
        info["cuda"] = str(torch.version.cuda)
    return info
