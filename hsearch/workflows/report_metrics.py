"""Summary lines about the measured metrics of a NAS run: the fastest and the smallest feasible
networks, and, when nothing was feasible, which constraint no network met and the closest found.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from hsearch.results.store import is_finite_number


def metric_lines(rows: Sequence[Mapping], baseline: Mapping | None, objective: str,
                 constraints: Sequence[str]) -> list[str]:
    """Lines for the run summary (hsearch.workflows.report) from its evaluation rows."""
    lines = []
    feasible = [r for r in rows if r.get("status") == "ok" and r.get("feasible")]
    smallest = _lowest(feasible, "macs")
    fastest = _lowest(feasible, "latency_ms")
    if fastest is not None:
        lines.append(f"fastest   {_network(fastest)}: {_latency(fastest)}, "
                     f"{fastest['macs'] / 1e6:.2f}M MACs, {_acc(fastest)} "
                     f"(evaluation #{fastest['eval_id']})")
    if smallest is not None and (objective != "macs" or fastest is not None):
        lat = f"{_latency(smallest)}, " if is_finite_number(smallest.get("latency_ms")) else ""
        lines.append(f"smallest  {_network(smallest)}: {lat}{smallest['macs'] / 1e6:.2f}M MACs, "
                     f"{_acc(smallest)} (evaluation #{smallest['eval_id']})")
    if fastest is not None and smallest is not None and fastest is not smallest \
            and is_finite_number(smallest.get("latency_ms")):
        gap = smallest["latency_ms"] - fastest["latency_ms"]
        spread = (smallest.get("latency_ms_iqr") or 0.0) + (fastest.get("latency_ms_iqr") or 0.0)
        noise = " (within the timing spread: not a clear difference)" if gap <= spread else ""
        speedup = smallest["latency_ms"] / fastest["latency_ms"]
        lines.append(f"          the fastest is {speedup:.2f}x faster than the smallest, with "
                     f"{fastest['macs'] / smallest['macs']:.2f}x its MACs{noise}")
    if baseline is not None and is_finite_number(baseline.get("latency_ms")):
        lines.append(f"          baseline {_latency(baseline)} ({baseline.get('latency_device')}, "
                     f"{baseline.get('latency_threads')} threads, {baseline.get('latency_dtype')},"
                     f" batch 1; {_throughput(baseline)})")
    if not feasible:
        lines += unmet_lines(rows, constraints)
    return lines


def unmet_lines(rows: Sequence[Mapping], constraints: Sequence[str]) -> list[str]:
    """For each constraint that no evaluation met: one line with the closest value found."""
    from hsearch.search.constraints import parse_constraint  # hsearch.search imports Ray

    lines = []
    for text in constraints:
        constraint = parse_constraint(text)
        measured = [r for r in rows if constraint.value(r) is not None]
        if not measured or any(constraint.value(r) <= 0 for r in measured):
            continue
        closest = min(measured, key=constraint.value)
        lines.append(f"unmet     no network in the box met {constraint}: the closest found has "
                     f"{constraint.metric} {closest[constraint.metric]:.4g} "
                     f"({_network(closest)}, evaluation #{closest['eval_id']})")
    return lines


def _lowest(rows: Sequence[Mapping], key: str) -> Mapping | None:
    rows = [r for r in rows if is_finite_number(r.get(key))]
    return min(rows, key=lambda r: r[key]) if rows else None


def _network(row: Mapping) -> str:
    px = f" ({row['input_size']} px)" if row.get("input_size") else ""
    return (f"{row.get('arch_model')} width {row.get('arch_width', 0):.4g} depth "
            f"{row.get('arch_depth', 0):.4g} resolution {row.get('arch_resolution', 0):.4g}{px}")


def _latency(row: Mapping) -> str:
    iqr = row.get("latency_ms_iqr")
    spread = f" (IQR {iqr:.3f})" if is_finite_number(iqr) else ""
    return f"{row['latency_ms']:.3f} ms{spread}"


def _throughput(row: Mapping) -> str:
    value = row.get("throughput_ips")
    return f"{value:.0f} images/s at the larger batch" if is_finite_number(value) else "?"


def _acc(row: Mapping) -> str:
    value = row.get("acc_mean")
    return f"acc {value:.4f}" if is_finite_number(value) else "acc ?"
