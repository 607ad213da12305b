"""The NAS threshold's own uncertainty, the demo's baseline seeds, machine info in config.yaml."""

import math

import pytest
import yaml

from hsearch.errors import UserError
from hsearch.workflows.demo import DEMO_BASELINE_SEEDS, DEMO_SEEDS, demo_settings
from hsearch.workflows.nas import mean_uncertainty
from hsearch.workflows.report_lines import _threshold_uncertainty
from hsearch.workflows.run_dir import CONFIG_FILE, write_run_config
from hsearch.workflows.settings import NasSettings


def test_standard_error_and_t_interval_of_the_baseline_mean():
    accs = [0.94, 0.94, 0.84, 0.96]  # the old demo's 4 baseline seeds
    u = mean_uncertainty(accs)
    std = math.sqrt(sum((a - 0.92) ** 2 for a in accs) / 3)
    assert u["acc_sem"] == pytest.approx(std / 2)
    low, high = u["acc_ci"]
    assert low == pytest.approx(0.92 - 3.1824463 * std / 2, rel=1e-6)  # t(0.975, 3)
    assert high == 1.0  # 0.92 + 0.086 clipped to an accuracy's range
    assert mean_uncertainty([0.9]) == {}
    assert mean_uncertainty([0.15, 0.27])["acc_ci"][0] == 0.0  # clipped, not negative
    line = _threshold_uncertainty({"accs": accs, **u})
    assert "baseline mean of 4 seeds: standard error 0.0271" in line and "95% CI [" in line
    assert _threshold_uncertainty({"accs": None}) == ""


def test_more_baseline_seeds_make_a_narrower_interval():
    ten = [0.94, 0.94, 0.84, 0.96, 0.93, 0.95, 0.92, 0.94, 0.90, 0.95]
    four = ten[:4]
    assert mean_uncertainty(ten)["acc_sem"] < mean_uncertainty(four)["acc_sem"]


def test_the_demo_measures_its_baseline_on_ten_seeds():
    s = demo_settings()
    assert (s.seeds, s.baseline_seeds) == (DEMO_SEEDS, DEMO_BASELINE_SEEDS) == (4, 10)
    with pytest.raises(UserError, match="baseline_seeds >= 1"):
        NasSettings(baseline_seeds=0)


def test_config_yaml_records_the_machine(tmp_path):
    write_run_config(tmp_path, "nas", demo_settings())
    machine = yaml.safe_load((tmp_path / CONFIG_FILE).read_text())["machine"]
    assert machine["seed_torch_threads"] == 1 and machine["cpu_count"] >= 1
    assert {"cpu", "gpus", "torch_threads", "torch"} <= set(machine)
