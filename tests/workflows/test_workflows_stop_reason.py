"""A search that ends before its budget says why: the searcher's reason is kept for the summary."""

from types import SimpleNamespace

from hsearch.workflows.report import read_stop_reason
from hsearch.workflows.run_dir import STOP_REASON_FILE, write_stop_reason


def test_the_searchers_reason_is_kept_and_read_back(tmp_path):
    write_stop_reason(tmp_path, SimpleNamespace(stop_reason="3 NOMAD runs proposed no new point"))
    assert (tmp_path / STOP_REASON_FILE).exists()
    assert read_stop_reason(tmp_path) == "3 NOMAD runs proposed no new point"


def test_a_searcher_without_a_reason_writes_nothing_and_is_said_to_have_ended(tmp_path):
    write_stop_reason(tmp_path, object())
    write_stop_reason(tmp_path, SimpleNamespace(stop_reason=""))
    assert not (tmp_path / STOP_REASON_FILE).exists()
    assert "ended the search" in read_stop_reason(tmp_path)
