"""The noise-aware multi-dimensional Pareto front (hsearch.results.pareto)."""

import csv

import numpy as np
import pytest

from hsearch.results.pareto import (
    format_pareto,
    nondominated,
    pareto_table,
    write_pareto,
)

SENSES = ("max", "min", "min", "min")  # accuracy, MACs, params, latency


def test_front_of_a_handmade_table_ties_included():
    table = [
        # acc,  macs, params, latency
        [0.90, 100, 10, 1.0],   # 0 on the front
        [0.90, 100, 10, 1.0],   # 1 the same point as 0: a tie, on the front too
        [0.90, 100, 10, 1.5],   # 2 equal to 0 except slower: dominated by 0
        [0.95, 200, 20, 2.0],   # 3 most accurate: on the front
        [0.80, 50, 10, 1.0],    # 4 fewest MACs: on the front
        [0.80, 100, 10, 1.0],   # 5 dominated by 0 (less accurate, all else equal)
        [0.85, 300, 5, 3.0],    # 6 fewest params: on the front
        [0.85, 300, 6, 3.0],    # 7 dominated by 6 (more params only)
        [0.70, 400, 40, 0.5],   # 8 fastest: on the front
        [0.70, 400, 40, 0.5],   # 9 tie with 8: on the front
    ]
    expected = [True, True, False, True, True, False, True, False, True, True]
    assert nondominated(table, SENSES).tolist() == expected
    # a single point, and two points in two dimensions with one tie coordinate
    assert nondominated([[1.0, 2.0]], ("max", "min")).tolist() == [True]
    assert nondominated([[1.0, 2.0], [1.0, 3.0]], ("max", "min")).tolist() == [True, False]


def test_bad_shapes_and_senses_are_refused():
    with pytest.raises(ValueError, match="n x 2"):
        nondominated([[1.0, 2.0, 3.0]], ("max", "min"))
    with pytest.raises(ValueError, match="'min' or 'max'"):
        nondominated([[1.0]], ("up",))


def _row(i, accs, macs, params, latencies, status="ok"):
    return {"eval_id": i, "trial_id": f"t{i}", "status": status, "feasible": True,
            "arch_model": "senet18", "arch_width": 1.0, "arch_depth": 1.0,
            "arch_resolution": 1.0, "input_size": 8, "acc_mean": float(np.mean(accs)),
            "acc_std": float(np.std(accs)), "accs": list(accs), "macs": macs, "params": params,
            "latency_ms": float(np.median(latencies)), "latency_samples_ms": list(latencies),
            "latency_ms_iqr": 0.1}


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    rows = [
        # dominates everything: most accurate, smallest, fastest
        _row(1, [0.97, 0.98, 0.99, 0.98], 1e5, 1e4, rng.uniform(0.9, 1.1, 21)),
        # far inside: much worse in every dimension
        _row(2, [0.50, 0.55, 0.52, 0.51], 1e7, 1e6, rng.uniform(9.0, 11.0, 21)),
    ]
    for i in range(3, 13):  # noisy middle points
        rows.append(_row(i, rng.uniform(0.8, 0.95, 4), float(rng.uniform(1e6, 3e6)),
                         float(rng.uniform(1e5, 3e5)), rng.uniform(2.0, 6.0, 21)))
    rows.append({"eval_id": 13, "trial_id": "t13", "status": "pruned", "macs": 5e6,
                 "params": 5e5, "latency_ms": 3.0})
    return rows


def test_p_front_is_one_for_a_dominating_point_and_near_zero_far_inside():
    table = pareto_table(_rows(), samples=400, seed=1)
    assert table[0]["p_front"] == 1.0 and table[0]["on_front"]
    assert table[1]["p_front"] <= 0.01 and not table[1]["on_front"]
    # only the dominating point is non-dominated, in the means and in every resample
    assert [r["on_front"] for r in table[:12]] == [True] + [False] * 11
    assert table[12]["p_front"] is None and table[12]["on_front"] is False  # pruned: untrained


def test_p_front_reflects_noise_between_close_points():
    # two points that differ only by accuracy, whose seed accuracies overlap: both have a
    # fair chance; with the same seed the estimate is reproducible
    rows = [_row(1, [0.80, 0.90, 0.85, 0.95], 1e6, 1e5, [1.0] * 5),
            _row(2, [0.82, 0.88, 0.86, 0.93], 1e6, 1e5, [1.0] * 5)]
    table = pareto_table(rows, samples=2000, seed=3)
    p = [r["p_front"] for r in table]
    assert 0.2 < p[0] < 0.8 and 0.2 < p[1] < 0.8
    assert p == [r["p_front"] for r in pareto_table(rows, samples=2000, seed=3)]
    assert sum(r["on_front"] for r in table) == 1  # the means: 0.875 vs 0.8725


def test_without_latency_the_front_has_three_dimensions(tmp_path):
    rows = [{k: v for k, v in r.items() if not k.startswith("latency")} for r in _rows()]
    table = write_pareto(tmp_path, rows, samples=100)
    assert table[0]["on_front"] and table[0]["p_front"] == 1.0
    with open(tmp_path / "pareto.csv", newline="") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == len(rows)
    assert written[0]["on_front"] == "true" and float(written[0]["p_front"]) == 1.0
    assert written[12]["p_front"] == "" and written[0]["latency_ms"] == ""
    assert (tmp_path / "pareto.png").stat().st_size > 0


def test_the_printed_table_lists_the_front_first():
    text = format_pareto(pareto_table(_rows(), samples=200))
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["#", "network"]
    assert lines[1].split()[0] == "1" and "yes" in lines[1]
    assert "1 of 12 finished evaluations on the front" in lines[-1]
    assert format_pareto([]) == "pareto    no finished evaluation yet"
