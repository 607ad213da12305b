"""The demo's box on the shipped table: every demo network is a table cell, and the cheapest
network that reaches the demo's threshold lies inside the box along at least two axes."""

import pytest

from hsearch.errors import UserError
from hsearch.problems.table_io import cut_table
from hsearch.problems.tabular import DEFAULT_TABLE, NasTable
from hsearch.workflows.demo import demo_grid, demo_settings
from hsearch.workflows.settings import NasBounds



def demo_threshold() -> float:
    """The demo's threshold on the shipped table's machine: the baseline's mean over the demo's
    10 seeds, 0-9 (the table holds 20 of the baseline: its own level is their mean)."""
    base = NasTable().baseline
    accs = [a for s, a in zip(base.seeds, base.accs) if s < 10]
    assert len(accs) == 10
    return sum(accs) / 10


@pytest.fixture(scope="module")
def demo_table(tmp_path_factory):
    """The shipped table cut to the demo's grid, as a table of its own (same rows, same code)."""
    return cut_table(DEFAULT_TABLE, demo_grid(), tmp_path_factory.mktemp("demo") / "demo.csv")


def test_the_demo_searches_the_tables_baseline_and_a_sub_box_of_its_grid():
    table = NasTable()
    settings = demo_settings()
    assert table.metadata["base_arch"] == {
        "model": settings.arch.model,
        **{k: getattr(settings.arch, k) for k in ("width", "depth", "resolution")}}
    assert table.metadata["budget"] == settings.budget.to_text()
    for name, values in demo_grid().items():
        assert 1.0 in values
        assert set(values) <= set(table.axes[name]), name


def test_the_demos_optimum_on_the_table_lies_inside_the_box_along_two_axes(demo_table):
    table = NasTable(demo_table, level=demo_threshold())
    assert table.shape == tuple(len(v) for v in demo_grid().values())
    position = table.optimum_position()
    assert sum(p == "inside" for p in position.values()) >= 2, position
    best = table.optimum()
    cheaper = {c.network for c in table.cells.values() if c.macs < best.macs}
    assert len(cheaper) >= 5  # networks the search must rule out before it can stop


def test_demo_grid_is_the_multiples_of_the_step_in_the_bounds():
    grid = demo_grid(NasBounds(width=(0.3, 1.5), depth=(1.0, 1.0), resolution=(0.5, 1.2),
                               step=0.25))
    assert grid == {"width": [0.5, 0.75, 1.0, 1.25, 1.5], "depth": [1.0],
                    "resolution": [0.5, 0.75, 1.0]}
    with pytest.raises(ValueError, match="step"):
        demo_grid(NasBounds())


def test_cutting_a_table_off_its_grid_is_refused(tmp_path):
    grid = {"width": [1.0, 2.0], "depth": [1.0], "resolution": [1.0]}
    with pytest.raises(UserError, match=r"width \[2.0\] not on the table's grid"):
        cut_table(DEFAULT_TABLE, grid, tmp_path / "cut.csv")
