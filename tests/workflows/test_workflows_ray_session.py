"""A local Ray started by hsearch keeps token authentication and prints none of Ray's advice; a
Ray worker stopped at the end of a search prints no SystemExit traceback."""

import os
import subprocess
import sys
import textwrap

import pytest

from hsearch.workflows.ray_session import quiet_worker_exit

START_LOCAL_RAY = textwrap.dedent("""
    from hsearch.workflows.ray_session import ensure_ray
    from ray._raylet import AuthenticationMode, get_authentication_mode
    import ray

    assert ensure_ray(num_cpus=1)
    print("auth mode:", "token" if get_authentication_mode() == AuthenticationMode.TOKEN
          else "other")
    ray.shutdown()
""")


@pytest.mark.ray
def test_a_local_ray_keeps_token_auth_without_printing_rays_advice():
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}
    done = subprocess.run([sys.executable, "-c", START_LOCAL_RAY], env=env, capture_output=True,
                          text=True, timeout=180)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "auth mode: token" in done.stdout
    assert "Token authentication" not in output
    assert "RAY_AUTH_MODE" not in output


class _RaisesWhenCollected:
    def __init__(self, error: BaseException):
        self.error = error

    def __del__(self):
        raise self.error


def test_a_stopped_worker_s_system_exit_is_not_reported_and_other_errors_are(monkeypatch):
    """Ray's SIGTERM handler raising SystemExit inside a garbage-collection callback: dropped."""
    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    quiet_worker_exit()
    quiet_worker_exit()  # once per process: the second call changes nothing
    _RaisesWhenCollected(SystemExit(1))
    assert reported == []
    _RaisesWhenCollected(ValueError("a real error"))
    assert [type(u.exc_value) for u in reported] == [ValueError]
