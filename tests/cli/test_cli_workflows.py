"""The workflow commands reject bad input with one line and exit code 2, before starting Ray."""

import pytest

from hsearch.cli import main

COMMANDS = ("train", "demo", "baseline", "nas", "hpo", "evaluate", "report", "resume")


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_error_line(err: str, command: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"hsearch {command}: error: ")
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert command in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["nas", "--searcher", "bohb-ish"], "unknown searcher 'bohb-ish'; known searchers: nomad"),
    (["nas", "--width-bounds", "2", "3"], "`0 < low <= 1 <= high` must hold for bounds.width"),
    (["nas", "--resolution-bounds", "0", "1"], "bounds.resolution"),
    (["nas", "--max-evals", "0"], "max_evals >= 1"),
    (["nas", "--budget", "10"], "has no unit"),
    (["nas", "--tolerance", "-1"], "tolerance"),
    (["demo", "--seeds", "2", "--racing"], "racing needs `racing.min_seeds < seeds`"),
    (["nas", "--seeds", "4", "--confirm", "--max-seeds", "4"],
     "confirmation needs `confirm.max_seeds > seeds`"),
    (["demo", "--searcher", "nope"], "unknown searcher 'nope'"),
    (["hpo", "--searcher", "nope"], "unknown searcher 'nope'"),
    (["hpo", "--optimizer", "lion"], "unknown optimizer 'lion'"),
    (["baseline", "--models", "resnet18,resnet9000"], "unknown model 'resnet9000'"),
    (["evaluate", "--data", "mnist"], "unknown data set 'mnist'"),
    (["nas", "--gpus-per-seed", "-1"], "gpus_per_seed >= 0"),
    (["nas", "--concurrency", "0"], "concurrency >= 1"),
])
def test_bad_flags_are_one_line_exit_2(argv, message, capsys):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in one_error_line(err, argv[0])


def test_yaml_errors_are_one_line_exit_2(tmp_path, capsys):
    missing = tmp_path / "missing.yaml"
    code, _, err = run(capsys, "nas", "--config", str(missing))
    assert code == 2 and "no such file" in one_error_line(err, "nas")

    bad_key = tmp_path / "bad_key.yaml"
    bad_key.write_text("search:\n  searcher: nomad\n  max_evalz: 3\n")
    code, _, err = run(capsys, "nas", "--config", str(bad_key))
    line = one_error_line(err, "nas")
    assert code == 2 and "bad_key.yaml" in line and "search.max_evalz: unknown key" in line

    syntax = tmp_path / "syntax.yaml"
    syntax.write_text("bounds: {width: [0.5, 2\n")
    code, _, err = run(capsys, "hpo", "--config", str(syntax))
    assert code == 2 and "YAML syntax error" in one_error_line(err, "hpo")

    wrong_type = tmp_path / "wrong_type.yaml"
    wrong_type.write_text("seeds: many\n")
    code, _, err = run(capsys, "evaluate", "--config", str(wrong_type))
    assert code == 2 and "seeds: expected an integer, got 'many'" in one_error_line(err, "evaluate")

    not_mapping = tmp_path / "list.yaml"
    not_mapping.write_text("- 1\n- 2\n")
    code, _, err = run(capsys, "baseline", "--config", str(not_mapping))
    assert code == 2 and "expected a mapping" in one_error_line(err, "baseline")


def test_run_directories_are_checked(tmp_path, capsys):
    for command in ("report", "resume"):
        code, _, err = run(capsys, command, str(tmp_path / "nowhere"))
        assert code == 2 and "no such run directory" in one_error_line(err, command)
        code, _, err = run(capsys, command, str(tmp_path))
        assert code == 2 and "not a run directory" in one_error_line(err, command)
    code, _, err = run(capsys, "hpo", "--from-nas", str(tmp_path))
    assert code == 2 and "not a run directory" in one_error_line(err, "hpo")
    code, _, err = run(capsys, "evaluate", "--from", str(tmp_path))
    assert code == 2 and "not a run directory" in one_error_line(err, "evaluate")
    (tmp_path / "config.yaml").write_text("workflow: nas\nsettings: {seeds: 0}\n")
    code, _, err = run(capsys, "report", str(tmp_path))
    assert code == 2 and "seeds >= 1" in one_error_line(err, "report")
