"""Start or join Ray for one job, on loopback only when it is started here.

A local Ray (no address) binds every port to 127.0.0.1, sends no usage statistics, keeps
its logs out of the terminal and has no dashboard: nothing connects anywhere. An address
("auto", "ray://host:10001", or RAY_ADDRESS in the environment) joins a cluster the user
runs. A session shuts down only a Ray it started itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from explorer.core.errors import InputError

INSTALL_HINT = "the Ray engine needs the cluster extra: pip install 'embedding-explorer[cluster]'"
LOCAL = ("", "local")
# a local Ray's shared memory: enough for a few shards in flight, never a large share of RAM
OBJECT_STORE_BYTES = 256 << 20
# Ray's own switches: loopback addresses on Linux and no usage report
QUIET_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
             "RAY_DATA_DISABLE_PROGRESS_BARS": "1"}


@dataclass(frozen=True)
class RaySession:
    """Where a job runs: `address` None for a local Ray; `workers` the CPUs it may use."""

    address: str | None
    workers: int
    started: bool  # this session started Ray (and stops it)


def ray_available() -> str | None:
    """None when Ray can be used here, else why not, in the user's words.

    Ray reads its switches when first imported, so they are set before the import."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError as exc:
        if exc.name == "ray":
            return INSTALL_HINT
        return f"Ray is there but could not be loaded ({exc}); {INSTALL_HINT}"
    return None


def resolve_address(address: str | None) -> str | None:
    """The cluster to join: the given address, else RAY_ADDRESS, else None (a local Ray)."""
    value = address if address is not None else os.environ.get("RAY_ADDRESS", "")
    value = value.strip()
    return None if value in LOCAL else value


def short_temp_dir() -> str:
    """Ray's session folder; short, because its Unix socket paths must fit in 107 bytes."""
    return str(Path(tempfile.gettempdir()) / f"ee-ray-{os.getuid() if hasattr(os, 'getuid') else 0}")


@contextlib.contextmanager
def ray_session(address: str | None = None, workers: int | None = None) -> Iterator[RaySession]:
    """Ray for the length of a `with` block: reused when already running (tests share one)."""
    reason = ray_available()
    if reason:
        raise InputError(reason)
    import ray

    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    target = resolve_address(address)
    if ray.is_initialized():
        yield RaySession(target, _cpus(ray, workers), started=False)
        return
    if target is not None and target != "auto":
        check_reachable(target)
    try:
        if target is None:
            ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                     log_to_driver=False, configure_logging=False,
                     object_store_memory=OBJECT_STORE_BYTES, _temp_dir=short_temp_dir())
        else:
            ray.init(address=target, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
        where = "a local Ray" if target is None else f"the Ray cluster at {target!r}"
        hint = "" if target is None else (" (check RAY_ADDRESS or --ray-address, and that "
                                          "the cluster is running and reachable)")
        raise InputError(f"could not start {where}: {exc}{hint}") from None
    _quiet_data()
    try:
        yield RaySession(target, _cpus(ray, workers), started=True)
    finally:
        ray.shutdown()


def check_reachable(address: str, seconds: float = 5.0) -> None:
    """Fail in words at once when nothing answers at a cluster's host:port: Ray itself
    retries a wrong address for minutes before it gives up."""
    hostport = address.split("://", 1)[-1].rsplit("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"a Ray address is 'auto', 'host:port' or 'ray://host:port', not "
                         f"{address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=seconds).close()
    except OSError as exc:
        raise InputError(f"nothing answers at {hostport} ({exc.strerror or exc})",
                         hint="check RAY_ADDRESS or --ray-address, and that the cluster is "
                              "running and reachable from here") from None


def _cpus(ray, workers: int | None) -> int:
    total = int(ray.cluster_resources().get("CPU", 1))
    return max(1, min(workers, total)) if workers else max(1, total)


def _quiet_data() -> None:
    """Ray Data's notes (progress bars off, "execution finished") stay out of the terminal:
    the job's own progress says it in the user's words."""
    import ray.data

    logging.getLogger("ray.data").setLevel(logging.ERROR)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
