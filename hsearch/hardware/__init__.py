"""Measured cost of a network on a device: inference latency and throughput (no Ray here)."""

from hsearch.hardware.latency import (
    Latency,
    LatencyCache,
    LatencySettings,
    device_name,
    measure_latency,
    network_latency,
)

__all__ = ["Latency", "LatencyCache", "LatencySettings", "device_name", "measure_latency",
           "network_latency"]
