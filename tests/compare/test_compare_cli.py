"""``hsearch compare`` end to end: two searchers, two repeats, through Ray."""

from __future__ import annotations

import csv
import json
import shlex

import pytest
from compare_tiny_table import write_tiny_table

from hsearch.cli import main


@pytest.fixture()
def own_ray():
    """Shut down the Ray this test starts (leave one another test started alone)."""
    import ray

    was_running = ray.is_initialized()
    yield
    if not was_running and ray.is_initialized():
        ray.shutdown()


@pytest.mark.ray
def test_compare_two_searchers_two_repeats_through_ray(tmp_path, own_ray, capsys):
    table = write_tiny_table(tmp_path / "tiny.csv")
    out = tmp_path / "cmp"
    code = main(["compare", "--problem", "tabular", "--table", str(table),
                 "--searchers", "nomad,random", "--max-evals", "10", "--repeats", "2",
                 "--num-cpus", "2", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    with (out / "runs.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    runs = {(r["searcher"], r["repeat"]) for r in rows}
    assert runs == {("nomad", "0"), ("nomad", "1"), ("random", "0"), ("random", "1")}
    # the budget counts trained evaluations (free ones -- duplicates, screened -- do not)
    assert all(sum(1 for r in rows if (r["searcher"], r["repeat"]) == run
                   and r["kind"] == "trained") <= 10 for run in runs)
    summary = (out / "summary.md").read_text()
    lines = summary.splitlines()
    made_by = lines[lines.index("Made by:") + 1:][:2]
    assert made_by == ["", "    hsearch compare --problem tabular --searchers nomad,random "
                           "--max-evals 10 --repeats 2 --concurrency 1 "
                           f"--seed 0 --table {table} --out {out}"]
    assert "| **nomad** |" in summary and "| random |" in summary
    assert "| random | " in summary.split("NOMAD against each searcher")[1]
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["machine"]["ray"] is True
    for png in ("convergence_evals.png", "convergence_time.png", "data_profile.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # a second run into the same directory is refused, as one line
    assert main(["compare", "--table", str(table), "--searchers", "random", "--out",
                 str(out)]) == 2
    assert "holds a comparison already" in capsys.readouterr().err


def test_compare_rejects_bad_input_with_one_line(tmp_path, capsys):
    assert main(["compare", "--searchers", "nomad,simplex", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown searcher 'simplex'" in err
    assert main(["compare", "--max-evals", "0", "--out", str(tmp_path / "y")]) == 2
    assert "`budget >= 1`" in capsys.readouterr().err
    assert main(["compare", "--problem", "mnist", "--out", str(tmp_path / "z")]) == 2
    assert "unknown problem 'mnist'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_compare_lists_searchers_and_problems(capsys):
    assert main(["compare", "--list"]) == 0
    text = capsys.readouterr().out
    assert "nomad" in text and "native constraints" in text and "tabular" in text


def test_command_line_reproduces_the_settings():
    from hsearch.cli import build_parser
    from hsearch.cli.compare import command_line, settings_from_args

    argv = ["compare", "--problem", "g06", "--searchers", "nomad,random", "--max-evals", "30",
            "--repeats", "3", "--rule", "penalty", "--penalty", "50", "--nomad-param",
            "NM_SEARCH no", "--out", "somewhere"]
    settings = settings_from_args(build_parser().parse_args(argv))
    assert settings.nomad_params == ("NM_SEARCH no",)
    line = command_line(settings, "somewhere")
    assert line.startswith("hsearch compare --problem g06 --searchers nomad,random --max-evals 30 "
                           "--repeats 3")
    again = settings_from_args(build_parser().parse_args(shlex.split(line)[1:]))
    assert again == settings


def test_old_spellings_still_work_with_one_line_each(capsys):
    """--budget and --threshold (before issue 21) mean --max-evals and --baseline-acc."""
    from hsearch.cli import build_parser
    from hsearch.cli.compare import command_line, settings_from_args

    new = ["compare", "--problem", "tabular", "--max-evals", "12", "--baseline-acc", "0.95"]
    old = ["compare", "--problem", "tabular", "--budget", "12", "--threshold", "0.95"]
    settings = settings_from_args(build_parser().parse_args(new))
    assert capsys.readouterr().err == ""
    assert settings_from_args(build_parser().parse_args(old)) == settings
    assert capsys.readouterr().err.splitlines() == [
        "hsearch compare: --budget is deprecated, use --max-evals",
        "hsearch compare: --threshold is deprecated, use --baseline-acc"]
    assert (settings.budget, settings.threshold) == (12, 0.95)
    line = command_line(settings, "out")  # the record speaks the new vocabulary
    assert "--max-evals 12" in line and "--baseline-acc 0.95" in line
    assert "--budget" not in line and "--threshold" not in line


def test_old_spelling_gives_the_same_comparison(tmp_path, capsys):
    table = write_tiny_table(tmp_path / "tiny.csv")
    common = ["compare", "--problem", "tabular", "--table", str(table), "--searchers", "random",
              "--repeats", "1", "--serial"]
    assert main([*common, "--max-evals", "5", "--out", str(tmp_path / "new")]) == 0
    capsys.readouterr()
    assert main([*common, "--budget", "5", "--out", str(tmp_path / "old")]) == 0
    err = capsys.readouterr().err
    assert err.count("is deprecated") == 1 and "--budget is deprecated" in err
    runs = [list(csv.DictReader((tmp_path / d / "runs.csv").open(newline="")))
            for d in ("new", "old")]
    timed = ("suggest_ms", "complete_ms")  # the searcher's own wall clock
    keep = lambda rows: [{k: v for k, v in r.items() if k not in timed} for r in rows]  # noqa: E731
    assert runs[0] and keep(runs[0]) == keep(runs[1])
    settings = [json.loads((tmp_path / d / "comparison.json").read_text())["settings"]
                for d in ("new", "old")]
    assert settings[0] == settings[1] and settings[0]["budget"] == 5
