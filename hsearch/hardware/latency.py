"""Inference latency and throughput of a network, measured on the device it will run on.

:func:`measure_latency` times the model in eval mode under ``torch.inference_mode``, in the
trainer's inference format (channels_last; float32 on CPU, bfloat16 autocast on CUDA, as
hsearch.train evaluates), on zero images of the network's input size:

* ``latency_ms``: the **median** of ``repeats`` timed forward passes at batch ``batch`` (1),
  after ``warmup`` untimed passes; ``latency_ms_iqr`` is the interquartile range of those
  samples (their spread), and the samples themselves are kept (``samples_ms``) for resampling
  (hsearch.results.pareto). On CPU each pass is timed with ``time.perf_counter``; on CUDA with
  a pair of CUDA events around the pass and ``torch.cuda.synchronize()`` before reading them.
* ``throughput_ips``: images per second at batch ``throughput_batch``: the batch size divided by
  the median of ``throughput_repeats`` timed passes (after one warm-up pass at that batch).

The figures depend on the torch CPU thread count (recorded as ``threads``) and on whatever else
the machine runs at the time: on a shared machine they are noisy, which is why the spread and the
samples travel with them. :class:`LatencyCache` keeps them on disk per (network structure,
device name, batch sizes, dtype, threads), so a network is timed once per device in a run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hsearch.checks import is_int
from hsearch.files import write_atomic

logger = logging.getLogger(__name__)

CACHE_VERSION = 1


@dataclass(frozen=True)
class LatencySettings:
    """How to time a network (see the module docstring)."""

    batch: int = 1
    throughput_batch: int = 32
    warmup: int = 3
    repeats: int = 21
    throughput_repeats: int = 5

    def __post_init__(self) -> None:
        for name in ("batch", "throughput_batch", "repeats", "throughput_repeats"):
            value = getattr(self, name)
            if not is_int(value) or value < 1:
                raise ValueError(f"`{name} >= 1` must hold (an int), but got {name}={value!r}")
        if not is_int(self.warmup) or self.warmup < 0:
            raise ValueError(f"`warmup >= 0` must hold (an int), but got warmup={self.warmup!r}")


@dataclass(frozen=True)
class Latency:
    """Measured latency (ms, batch ``batch``) and throughput (images/s, ``throughput_batch``).

    ``samples_ms``: every timed pass at batch ``batch``; ``latency_ms`` is their median and
    ``latency_ms_iqr`` their interquartile range. ``device``: "cpu" or "cuda";
    ``device_name``: the processor or GPU model; ``threads``: torch CPU threads; ``dtype``:
    the inference dtype; ``seconds``: what measuring cost (wall clock, warm-up included).
    """

    latency_ms: float
    latency_ms_iqr: float
    samples_ms: tuple[float, ...]
    throughput_ips: float
    batch: int
    throughput_batch: int
    device: str
    device_name: str
    threads: int
    dtype: str
    seconds: float

    def metrics(self) -> dict[str, Any]:
        """The figures as a trial reports them (flat keys; samples as a list)."""
        return {"latency_ms": self.latency_ms, "latency_ms_iqr": self.latency_ms_iqr,
                "latency_samples_ms": list(self.samples_ms),
                "throughput_ips": self.throughput_ips, "latency_device": self.device_name,
                "latency_threads": self.threads, "latency_dtype": self.dtype,
                "latency_seconds": self.seconds}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["samples_ms"] = list(self.samples_ms)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Latency":
        return cls(**{**data, "samples_ms": tuple(float(v) for v in data["samples_ms"])})


def device_name(device: str = "cpu") -> str:
    """A readable name of the device: the GPU model, or the CPU model from /proc/cpuinfo."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def inference_dtype(device: str) -> str:
    """The dtype hsearch.train evaluates in on ``device`` (bfloat16 autocast on CUDA)."""
    import torch

    return "bfloat16" if torch.device(device).type == "cuda" else "float32"


def quartiles(samples) -> tuple[float, float, float]:
    """(q1, median, q3) of ``samples`` (statistics.quantiles, 'inclusive' method)."""
    values = sorted(float(v) for v in samples)
    if len(values) == 1:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def measure_latency(model, input_size: int, device: str = "cpu",
                    settings: LatencySettings | None = None) -> Latency:
    """Time ``model`` on ``device`` at ``input_size`` pixels (module docstring).

    The model is moved to ``device`` and put in eval mode; the torch thread count in force is
    the one measured and recorded.
    """
    import torch

    settings = settings or LatencySettings()
    started = time.perf_counter()
    dev = torch.device(device)
    model = model.to(dev, memory_format=torch.channels_last).eval()
    dtype = inference_dtype(device)

    def images(batch: int):
        x = torch.zeros(batch, 3, input_size, input_size, device=dev)
        return x.contiguous(memory_format=torch.channels_last)

    def timed(x, n: int) -> list[float]:
        out = []
        with torch.inference_mode(), torch.autocast(dev.type, dtype=torch.bfloat16,
                                                     enabled=dev.type == "cuda"):
            for _ in range(n):
                out.append(_time_once(model, x, dev))
        return out

    one = images(settings.batch)
    if settings.warmup:
        timed(one, settings.warmup)
    samples = timed(one, settings.repeats)
    many = images(settings.throughput_batch)
    timed(many, 1)  # warm-up at the larger batch (allocations, kernel choice)
    batch_ms = statistics.median(timed(many, settings.throughput_repeats))
    q1, median, q3 = quartiles(samples)
    return Latency(latency_ms=median, latency_ms_iqr=q3 - q1, samples_ms=tuple(samples),
                   throughput_ips=settings.throughput_batch / (batch_ms / 1e3),
                   batch=settings.batch, throughput_batch=settings.throughput_batch,
                   device=dev.type, device_name=device_name(device),
                   threads=torch.get_num_threads(), dtype=dtype,
                   seconds=time.perf_counter() - started)


def _time_once(model, x, dev) -> float:
    """Milliseconds of one forward pass (CUDA events and a synchronize on GPU)."""
    import torch

    if dev.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        model(x)
        end.record()
        torch.cuda.synchronize(dev)
        return float(start.elapsed_time(end))
    t0 = time.perf_counter()
    model(x)
    return (time.perf_counter() - t0) * 1e3


def structure_digest(model, model_name: str, input_size: int) -> str:
    """A digest of a network's structure: its name, input size and every tensor's shape."""
    shapes = [(name, tuple(t.shape)) for name, t in model.state_dict().items()]
    text = json.dumps([model_name, int(input_size), shapes])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


class LatencyCache:
    """Measured latencies on disk, one JSON file per (structure, device name, batches, dtype,
    threads, settings): a network is timed once per device and thread count."""

    def __init__(self, folder: str | Path):
        self.dir = Path(folder)

    def key(self, digest: str, device: str, threads: int, settings: LatencySettings) -> str:
        text = json.dumps({"version": CACHE_VERSION, "network": digest,
                           "device": device_name(device), "dtype": inference_dtype(device),
                           "threads": int(threads), "settings": asdict(settings)},
                          sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def get(self, key: str) -> Latency | None:
        path = self.dir / f"{key}.json"
        if not path.exists():
            return None
        try:
            return Latency.from_dict(json.loads(path.read_text()))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            logger.warning("ignoring unreadable cached latency %s: %s", path, exc)
            return None

    def put(self, key: str, latency: Latency) -> None:

        self.dir.mkdir(parents=True, exist_ok=True)
        write_atomic(self.dir / f"{key}.json", json.dumps(latency.to_dict()) + "\n")


def network_latency(arch, num_classes: int = 10, device: str = "cpu",
                    cache_dir: str | Path | None = None, threads: int | None = None,
                    settings: LatencySettings | None = None) -> tuple[Latency, bool]:
    """Latency of the network ``arch`` (an hsearch.train.Architecture) builds, and whether it
    came from the cache in ``cache_dir`` (None: no cache). ``threads``: torch CPU threads to
    measure with (restored afterwards; None: as set). Building the model does not touch the
    global torch random state."""
    import torch

    settings = settings or LatencySettings()
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        with torch.random.fork_rng(devices=[]):
            model = arch.build(num_classes=num_classes)
        cache = LatencyCache(cache_dir) if cache_dir is not None else None
        key = None
        if cache is not None:
            digest = structure_digest(model, arch.model, arch.input_size)
            key = cache.key(digest, device, torch.get_num_threads(), settings)
            hit = cache.get(key)
            if hit is not None:
                return hit, True
        latency = measure_latency(model, arch.input_size, device, settings)
        if not (math.isfinite(latency.latency_ms) and latency.latency_ms > 0):
            raise RuntimeError(f"measured a latency of {latency.latency_ms} ms for {arch}")
        if cache is not None:
            cache.put(key, latency)
        return latency, False
    finally:
        torch.set_num_threads(previous)
