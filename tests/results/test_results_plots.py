"""What the run's pictures draw: trained evaluations on the progress axis, readable axes."""

from __future__ import annotations

import pytest

from hsearch.results.plots import number_trained, plot_progress, pyplot, readable_axis, short_number


def _row(eval_id, status, objective=None, feasible=None):
    return {"eval_id": eval_id, "status": status, "objective": objective, "feasible": feasible}


def test_progress_numbers_trained_evaluations_and_counts_untrained_answers(tmp_path):
    rows = [_row(5, "ok", 4e5, True), _row(1, "ok", 6e6, False), _row(2, "screened"),
            _row(3, "duplicate", 6e6, False), _row(4, "failed"), _row(6, "duplicate"),
            _row(7, "pruned", 9e6, False)]
    numbered, untrained = number_trained(rows)
    assert [(n, r["eval_id"]) for n, r in numbered] == [(1, 1), (2, 4), (3, 5), (4, 7)]
    assert untrained == {"duplicate": 2, "screened": 1}
    assert plot_progress(rows, tmp_path / "progress.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("value, text", [(3e5, "300k"), (1.5e6, "1.5M"), (5.906624e6, "5.91M"),
                                         (2e9, "2G"), (1e3, "1k"), (0.25, "0.25"), (1.0, "1"),
                                         (0.0, "0")])
def test_short_number(value, text):
    assert short_number(value) == text


@pytest.mark.parametrize("low, high, max_ticks", [(2.7e5, 6e6, 4), (2.7e5, 6e6, 7),
                                                  (1e3, 1e9, 4), (0.09, 1.3, 7), (4e5, 7e5, 4)])
def test_a_log_axis_has_few_short_labels(low, high, max_ticks):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(2.6, 2.4))
    ax.set_xscale("log")
    ax.set_xlim(low, high)
    readable_axis(ax, "x", max_ticks=max_ticks)
    ticks = [t for t in ax.get_xticks() if low <= t <= high]
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    minor = [t.get_text() for t in ax.xaxis.get_minorticklabels() if t.get_text()]
    plt.close(fig)
    assert 2 <= len(ticks) <= max_ticks, ticks
    assert labels == [short_number(t) for t in ticks]
    assert not minor


def test_a_linear_count_axis_has_no_offset_text():
    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3], [1e6, 3e6, 6e6])
    readable_axis(ax, "y")
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    offset = ax.yaxis.get_offset_text().get_text()
    plt.close(fig)
    assert offset == "" and "2M" in labels and "6M" in labels
