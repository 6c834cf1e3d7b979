"""Ray started here stays on this machine and is shared; without Ray the engine says how to
get it."""

import builtins
import os

import pytest

from explorer.compute.cluster import ray_session as rs
from explorer.core.errors import InputError


def test_a_local_ray_listens_on_loopback_only(ray_local):
    import ray

    assert ray_local.address is None and ray_local.workers == 2
    assert {node["NodeManagerAddress"] for node in ray.nodes()} == {"127.0.0.1"}
    assert os.environ["RAY_USAGE_STATS_ENABLED"] == "0"


def test_a_running_ray_is_reused_and_left_running(ray_local):
    import ray

    with rs.ray_session(workers=1) as session:
        assert not session.started and session.workers == 1
    assert ray.is_initialized()


def test_the_address_comes_from_the_flag_then_the_environment(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "ray://head:10001")
    assert rs.resolve_address(None) == "ray://head:10001"
    assert rs.resolve_address("auto") == "auto"
    assert rs.resolve_address("local") is None
    monkeypatch.delenv("RAY_ADDRESS")
    assert rs.resolve_address(None) is None


def test_without_ray_the_engine_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    assert "embedding-explorer[cluster]" in rs.ray_available()
    with pytest.raises(InputError, match="cluster extra"):
        with rs.ray_session():
            pass


def test_workers_below_one_are_refused(ray_local):
    with pytest.raises(InputError, match="--workers"):
        with rs.ray_session(workers=0):
            pass


def test_an_address_where_nothing_answers_fails_at_once_in_words():
    import socket
    import time

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.perf_counter()
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(InputError, match=f"nothing answers at 127.0.0.1:{port}"):
            rs.check_reachable(address, seconds=2)
    assert time.perf_counter() - start < 10
    with pytest.raises(InputError, match="is 'auto', 'host:port'"):
        rs.check_reachable("head-node")
