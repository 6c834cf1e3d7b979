"""The session's one local Ray (tests/compute/cluster/conftest.py), for the Encode dialog's
Ray engine test; tests that do not ask for it never start Ray."""

from cluster.conftest import ray_local  # noqa: F401  (a fixture, found by pytest by name)
