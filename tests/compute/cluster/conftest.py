"""One local Ray for the whole test session (3-4 s to start, ~600 MB): tests that need it ask
for `ray_local`; the rest of the suite never starts it."""

import pytest

from explorer.compute.cluster.ray_session import ray_available, ray_session


@pytest.fixture(scope="session")
def ray_local():
    if ray_available():  # never import Ray before its switches are set
        pytest.skip(ray_available())
    with ray_session(workers=2) as session:
        yield session
