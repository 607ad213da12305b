"""Fixtures shared by the tests of more than one folder (a folder's own live in its conftest.py).

torch and ray are imported inside the fixtures: collecting a test that needs neither (the layer
test, the CLI's bad-input tests) does not pay for them.
"""

import pytest


@pytest.fixture(scope="module")
def digits():
    """The digits data set, loaded once per test module."""
    from hsearch.data import load_dataset

    return load_dataset("digits")


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch intra-op thread for the module, restored afterwards (use it with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``). Tiny models and batches are
    overhead-bound: one thread is as fast as two on an idle machine and far faster when other
    processes share the cores (OpenMP barriers wait for descheduled threads)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ray_session(request):
    """A local Ray instance (2 CPUs, no dashboard) for the module, unless one is running (then
    it is left alone); yields its GCS address. A module may set ``RAY_INIT_OPTIONS``, a dict of
    further ``ray.init`` arguments."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR",
                 **getattr(request.module, "RAY_INIT_OPTIONS", {}))
    yield ray.get_runtime_context().gcs_address
    if started:
        ray.shutdown()
