"""numba's compiles counted (explorer/compute/numba/compile_count.py): the figure
installer/ci-bundle.sh requires to be 0 for a bundle on a new HOME."""

from __future__ import annotations

import numba

from explorer.compute.numba.compile_count import CompileCounter


def test_the_compile_counter_counts_each_signature_compiled():
    """What installer/ci-bundle.sh reads: a bundle's shipped cache must leave it at 0."""
    counter = CompileCounter()
    counter.start()

    def twice(a):
        return a * 2

    kernel = numba.njit(twice)
    assert kernel(3) == 6 and kernel(4) == 8  # one signature: one compile
    assert kernel(2.5) == 5.0
    counter.stop()
    assert kernel(True) == 2  # compiled after the count stopped
    assert counter.names == ["test_the_compile_counter_counts_each_signature_compiled.<locals>.twice"] * 2
    assert counter.summary().startswith("numba compiles: 2 (test_the_compile_counter")

