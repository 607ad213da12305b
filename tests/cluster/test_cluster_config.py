"""ray_cluster.yaml: Ray's own schema accepts it (offline), and it exposes nothing but SSH.

Facts of Ray's AWS launcher (ray/autoscaler/_private/aws/config.py, 2.60) the security checks
rest on: the managed security group gets Ray's default inbound rules -- all traffic from the
group itself, and TCP 22 from anywhere -- plus the rules in ``provider.security_group.
IpPermissions``; a node type that names its own ``SecurityGroupIds`` bypasses that group.
"""

import re
import shlex
from pathlib import Path

import pytest
import yaml

CONFIG = Path(__file__).resolve().parents[2] / "ray_cluster.yaml"


@pytest.fixture(scope="module")
def config():
    return yaml.safe_load(CONFIG.read_text())


def start_commands(config):
    return config["head_start_ray_commands"] + config["worker_start_ray_commands"]


def test_ray_validates_the_cluster_config(config):
    jsonschema = pytest.importorskip("jsonschema")  # noqa: F841 - Ray's validator needs it
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(config)
    validate_config(prepared)  # raises on any schema violation
    assert prepared["provider"]["type"] == "aws"
    head = prepared["available_node_types"][prepared["head_node_type"]]
    assert head["resources"].get("CPU") == 0  # the head runs the driver, no trials
    workers = [t for name, t in prepared["available_node_types"].items()
               if name != prepared["head_node_type"]]
    assert workers and all(t["resources"].get("GPU", 0) >= 1 for t in workers)
    assert all(t["max_workers"] > t.get("min_workers", 0) for t in workers)  # autoscaling


def test_dashboard_and_job_api_stay_on_the_head_node(config):
    (head_start,) = [c for c in config["head_start_ray_commands"] if "ray start" in c]
    args = shlex.split(head_start.split(";")[-1])
    assert "--head" in args
    hosts = [a.split("=", 1)[1] for a in args if a.startswith("--dashboard-host")]
    assert hosts == ["127.0.0.1"]
    for command in start_commands(config):
        assert "0.0.0.0" not in command and "--ray-client-server-port" not in command
        assert "--include-dashboard=true" not in command.replace(" ", "").lower()


def test_no_security_group_rule_opens_another_port(config):
    extra = config["provider"].get("security_group", {}).get("IpPermissions", [])
    for rule in extra:  # anything added must be SSH only
        assert rule.get("IpProtocol") == "tcp" and rule.get("FromPort") == rule.get("ToPort") == 22
    for name, node_type in config["available_node_types"].items():
        assert "SecurityGroupIds" not in node_type["node_config"], name
        for interface in node_type["node_config"].get("NetworkInterfaces", []):
            assert "Groups" not in interface, name
    assert "docker" not in config  # no container publishing ports


def test_setup_installs_this_project_on_a_shared_results_disk(config):
    assert config["file_mounts"].get("~/hsearch") == "."
    setup = "\n".join(config["setup_commands"])
    assert re.search(r"pip install .*-e ~/hsearch", setup)
    assert "mount -t nfs4" in setup and "/mnt/hsearch" in setup
    # the documented launch uses that disk for the run directory, and the cluster's Ray
    header = CONFIG.read_text().split("cluster_name:")[0]
    assert "--out /mnt/hsearch/runs/" in header and "--address auto" in header
    assert "--gpus-per-seed" in header and "port-forward" in header


@pytest.mark.parametrize("flags, expected", [
    # fractional GPUs: two seeds share a GPU; several seeds of a trial at once in one group
    (["--gpus-per-seed", "0.5", "--cpus-per-seed", "4", "--parallel-seeds", "2"],
     [{}, {"CPU": 4.0, "GPU": 0.5}, {"CPU": 4.0, "GPU": 0.5}]),
    (["--gpus-per-seed", "1", "--cpus-per-seed", "2"], [{"CPU": 2.0, "GPU": 1.0}]),
    (["--gpus-per-seed", "0", "--cpus-per-seed", "0.5"], [{"CPU": 0.5}]),
])
def test_resource_options_become_each_trials_ray_resources(flags, expected, tmp_path):
    """What `hsearch nas ... --address auto` on the cluster asks Ray for, per trial."""
    from ray import tune

    from hsearch.cli import build_parser
    from hsearch.cli._workflow_options import settings_from_args
    from hsearch.workflows.context import base_spec
    from hsearch.workflows.settings import NasSettings
    from hsearch.workflows.trial_spec import trial_resources

    args = build_parser().parse_args(["nas", "--address", "auto", "--concurrency", "8", *flags])
    settings = settings_from_args(NasSettings, args)
    assert settings.resources.address == "auto" and settings.resources.concurrency == 8
    spec = base_spec(settings, tmp_path, settings.resources.gpus_per_seed)
    resources = trial_resources(spec)
    if isinstance(resources, tune.PlacementGroupFactory):  # Ray keeps an empty head apart
        bundles = [{}] * resources.head_bundle_is_empty + resources.bundles
    else:  # one seed at a time: the trial's own resources
        bundles = [{key.upper(): value for key, value in resources.items()}]
    assert bundles == expected
    assert spec.device == ("cuda" if expected[-1].get("GPU") else "cpu")
