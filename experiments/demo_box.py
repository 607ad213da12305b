"""Where the demo's optimum lies on the shipped table: the demo's box cut from the table
(hsearch.problems.table_io.cut_table), at the table's own baseline mean and at given levels.

For each level: feasible networks, the optimum (multipliers, MACs ratio, accuracy), where it lies
along each axis (hsearch.problems.tabular.NasTable.optimum_position) and how many distinct
networks of the box are cheaper than it (what a search must rule out before it can stop).

    python experiments/demo_box.py --level 0.9387 --level 0.941
    python experiments/demo_box.py --write demo_box.csv  # for hsearch compare --table
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from hsearch.problems.table_io import cut_table
from hsearch.problems.tabular import DEFAULT_TABLE, NasTable
from hsearch.workflows.demo import DEMO_BOUNDS, demo_grid


def describe(path: Path, level: float | None) -> str:
    table = NasTable(path, level=level)
    best = table.optimum()
    networks = {c.network for c in table.cells.values()}
    feasible = {c.network for c in table.feasible_cells()}
    cheaper = {c.network for c in table.cells.values() if c.macs < best.macs}
    where = ", ".join(f"{a} {p}" for a, p in table.optimum_position().items())
    name = "table baseline" if level is None else f"level {level:g}"
    return (f"{name}: threshold {table.threshold:.4f}; {len(feasible)} of {len(networks)} "
            f"networks feasible; optimum {best.multipliers} ({best.input_size} px): "
            f"{best.macs / table.baseline.macs:.3f}x MACs, acc {best.acc_mean:.4f}; {where}; "
            f"{len(cheaper)} cheaper networks")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE)
    parser.add_argument("--level", type=float, action="append", default=[],
                        help="an absolute mean accuracy to reach (repeatable)")
    parser.add_argument("--write", type=Path, help="also keep the cut table at this path")
    args = parser.parse_args()
    grid = demo_grid()
    print(f"demo box {DEMO_BOUNDS}: " + "; ".join(f"{a} {v}" for a, v in grid.items()))
    with tempfile.TemporaryDirectory() as tmp:
        path = cut_table(args.table, grid, args.write or Path(tmp) / "demo_box.csv")
        for level in [None, *args.level]:
            print(describe(path, level))
    return 0


if __name__ == "__main__":
    sys.exit(main())
