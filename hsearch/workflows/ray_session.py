"""Joining Ray: start or join a cluster, its resources, the data set in its object store.

:func:`ensure_ray` starts a local Ray or joins a cluster (checked first by
:func:`probe_ray_address`: ``ray.init`` itself retries an unreachable address for minutes);
:func:`put_dataset` puts the data set in the object store once, as the :class:`DataHandle` that
trials and seed tasks fetch it by; :func:`gpus_per_seed` and :func:`current_node` read the cluster.

Ray is imported inside the functions: the CLI checks ``--address`` with
:func:`probe_ray_address` before anything heavy is imported.
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hsearch.errors import UserError

#: Seconds to wait for a Ray cluster's address to answer before giving up.
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class DataHandle:
    """A data set in Ray's object store: ``ray.put`` once by the driver, passed by reference.

    Trials and seed tasks fetch it from the object store (``ray.get``) instead of receiving a
    copy each. ``ref`` is the ObjectRef of the hsearch.data.ImageDataset.
    """

    ref: Any
    name: str
    num_classes: int


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Start or join Ray unless this process already runs it; True when this call started it.

    ``address``: an existing cluster ("auto", host:port or ray://host:port), checked first with
    :func:`probe_ray_address` (``ray.init`` itself retries an unreachable address for minutes);
    None or "local" starts a local Ray with ``num_cpus`` CPUs (default: all). The dashboard stays
    off (it executes code for whoever reaches it). A local Ray keeps Ray's token authentication
    (its ports listen on the machine's address, not only on loopback) without printing Ray's
    advice about it (:func:`quiet_auth_advice`); joining a cluster changes nothing. Raises
    UserError when the cluster cannot be reached.
    """
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                              "configure_logging": True}
    if address and address != "local":
        kwargs["address"] = probe_ray_address(address)
    else:
        # "local", not None: ray.init() without an address joins any Ray already running on
        # this machine (whose CPUs are not ours to set)
        kwargs["address"] = "local"
        if num_cpus is not None:
            kwargs["num_cpus"] = num_cpus
    local = kwargs["address"] == "local"
    try:
        with quiet_auth_advice(local):
            ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"at {address!r}" if address else "locally"
        raise UserError(f"cannot start or join Ray {where}: {_first_line(exc)}") from None
    return True


#: The logger Ray announces its token authentication on, and the start of the line it prints
#: when it turns authentication on for a new local cluster.
_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
_AUTH_ADVICE = "Token authentication is enabled for this Ray cluster"


class _DropAuthAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(_AUTH_ADVICE)


@contextmanager
def quiet_auth_advice(active: bool = True) -> Iterator[None]:
    """While active, drop Ray's "Token authentication is enabled ... Set RAY_AUTH_MODE=disabled
    to opt out" line, which a new local cluster prints when it turns authentication on.

    Authentication itself is untouched (Ray's default for a new local cluster, or the user's
    RAY_AUTH_MODE); so is every other line, e.g. Ray's warning that authentication is off.
    """
    if not active:
        yield
        return
    logger = logging.getLogger(_AUTH_LOGGER)
    drop = _DropAuthAdvice()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def probe_ray_address(address: str, timeout: float | None = None) -> str:
    """Check within about ``timeout`` seconds (default CONNECT_TIMEOUT_S) that a Ray cluster
    answers at ``address``.

    ``"auto"`` is resolved as Ray resolves it (RAY_ADDRESS, then the cluster last started on
    this machine); ``host:port`` must accept a TCP connection and speak gRPC (Ray's GCS does).
    Returns the address to give ``ray.init`` (``address`` itself); raises UserError with one
    line saying what failed. A ``ray://`` (Ray Client) address is checked the same way.
    """
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    text = address.strip()
    client = text.startswith("ray://")
    target = text[len("ray://"):] if client else text
    if target == "auto":
        from ray._private.services import canonicalize_bootstrap_address_or_die

        try:
            target = canonicalize_bootstrap_address_or_die("auto")
        except (ConnectionError, ValueError) as exc:
            raise UserError(f"--address auto: no running Ray cluster found on this machine "
                            f"({_first_line(exc)}); start one with `ray start --head` or give "
                            f"host:port") from None
    host, sep, port_text = target.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UserError(f"--address must be 'auto', host:port or ray://host:port, but got "
                        f"{address!r}")
    port = int(port_text)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror as exc:
        raise UserError(f"cannot reach the Ray cluster at {address!r}: unknown host {host!r} "
                        f"({exc.strerror})") from None
    except socket.timeout:
        raise UserError(f"cannot reach the Ray cluster at {address!r}: no answer from "
                        f"{host}:{port} within {timeout:g} s") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"cannot reach the Ray cluster at {address!r}: {reason} at "
                        f"{host}:{port}; is `ray start --head` running there?") from None
    import grpc

    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise UserError(f"{host}:{port} accepts connections but does not answer as a Ray "
                        f"cluster (no gRPC within {timeout:g} s); check --address") from None
    finally:
        channel.close()
    return text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def gpus_per_seed(requested: float | None) -> float:
    """``requested``, or (None) one GPU per seed when the Ray cluster has GPUs, else 0."""
    if requested is not None:
        return float(requested)
    import ray

    return 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0


def put_dataset(dataset):
    """The data set in Ray's object store, once (a DataHandle for trials and seed tasks)."""
    import ray

    return DataHandle(ref=ray.put(dataset), name=dataset.name, num_classes=dataset.num_classes)


def current_node() -> dict[str, str]:
    """The Ray node this process runs on (its id, and its IP address)."""
    import ray

    try:
        return {"node_id": ray.get_runtime_context().get_node_id(),
                "node_ip": ray.util.get_node_ip_address()}
    except Exception:  # noqa: BLE001 - outside Ray (a test calling the trainable directly)
        return {"node_id": "", "node_ip": ""}


def quiet_worker_exit() -> None:
    """In a Ray worker (a trial, a seed task): when the search ends, Ray stops the worker with
    SIGTERM, and its handler raises ``SystemExit``; raised inside a garbage-collection callback,
    Python printed that as a traceback ("Exception ignored in ...") on the driver's console.
    Drop just those reports; every other one still goes to the hook that was there before."""
    if getattr(sys.unraisablehook, "hsearch_quiet", False):
        return
    before = sys.unraisablehook

    def hook(unraisable) -> None:
        if not isinstance(unraisable.exc_value, SystemExit):
            before(unraisable)

    hook.hsearch_quiet = True
    sys.unraisablehook = hook
