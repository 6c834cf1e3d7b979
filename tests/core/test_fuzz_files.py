"""Issue 14, fuzzing: a damaged file of any format loads sanely or fails with one clean error.

Each kind of file (every format the loaders read, and variants) is written valid, then
mutated by Hypothesis (byte flips, truncation, inserted / deleted / duplicated runs,
integers and header fields set to huge, negative or zero values, dtype strings changed).
Every case runs in a forked child with a 2 GiB memory allowance and a 30 s timeout (see
fuzz_files_harness.py): open_file + check_set, then `inspect --json` in-process. The test
fails on the first case that ends in a traceback, a hang, memory above 2 GiB, a crash or an
inconsistent result, and prints the case with a one-line command that repeats it.

The cases are seeded per kind (the same as tests/benchmarks/fuzz_files.py, which runs many
more and tallies the outcomes). Environment:
    EXPLORER_FUZZ_EXAMPLES  cases per kind (default 60; raise it for a deep run)
    EXPLORER_FUZZ_TIMEOUT   seconds before a case counts as a hang (default 30)
    EXPLORER_FUZZ_SHRINK=1  let Hypothesis shrink a failing case (slower)
"""

from __future__ import annotations

import os
import zlib

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings

import fuzz_files_corpus as corpus
import fuzz_files_harness as fz
import fuzz_files_mutations as mutation

EXAMPLES = int(os.environ.get("EXPLORER_FUZZ_EXAMPLES", "60"))
TIMEOUT = float(os.environ.get("EXPLORER_FUZZ_TIMEOUT", str(fz.TIMEOUT)))
SHRINK = os.environ.get("EXPLORER_FUZZ_SHRINK") == "1"
KINDS = list(corpus.KINDS)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with fz.FuzzServer(home=tmp_path_factory.mktemp("fuzz-home")) as srv:
        yield srv


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz-files")


def _valid(server: fz.FuzzServer, workdir, kind: str):
    if corpus.KINDS[kind].format not in server.formats:
        pytest.skip(f"no {corpus.KINDS[kind].format} loader installed")
    return corpus.write_valid(kind, workdir / "valid" / kind)


@pytest.mark.parametrize("kind", KINDS)
def test_valid_file_loads(server, workdir, kind):
    """The starting point of the mutations is a file the app reads."""
    result = server.run(_valid(server, workdir, kind), timeout=TIMEOUT)
    assert result["outcome"] == "success", fz.describe(result)
    assert result["api"]["shape"] == [corpus.ROWS, corpus.DIM]
    assert result["api"]["format"] == corpus.KINDS[kind].format


@pytest.mark.parametrize("kind", KINDS)
def test_mutated_file_loads_or_fails_cleanly(server, workdir, kind):
    valid = _valid(server, workdir, kind)
    original = valid.read_bytes()
    target = workdir / "case" / kind / valid.name
    target.parent.mkdir(parents=True, exist_ok=True)

    @seed(zlib.crc32(f"fuzz-files:{kind}".encode()))
    @settings(max_examples=EXAMPLES, database=None, deadline=None,
              phases=[Phase.generate, Phase.shrink] if SHRINK else [Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(ops=mutation.mutations(kind))
    def case(ops):
        target.write_bytes(mutation.apply(original, ops))
        result = server.run(target, timeout=TIMEOUT)
        if result["outcome"] not in fz.GOOD:
            raise AssertionError(fz.describe(result, kind, ops))

    case()


@pytest.mark.parametrize("kind", KINDS)
def test_real_cli_inspect_on_a_damaged_file(server, workdir, kind):
    """The command a user runs, in its own process: exit 0 with JSON, or exit 2 with one
    'error:' line; and the same outcome as the in-process run of the same file."""
    valid = _valid(server, workdir, kind)
    original = valid.read_bytes()
    target = workdir / "cli" / kind / valid.name
    target.parent.mkdir(parents=True, exist_ok=True)
    ops = [("truncate", ("start", len(original) * 2 // 3))]
    target.write_bytes(mutation.apply(original, ops))
    real = fz.run_cli_subprocess(target, env=server.env, timeout=TIMEOUT)
    ours = server.run(target, timeout=TIMEOUT)
    assert real["outcome"] in fz.GOOD, (f"real CLI: {real['outcome']} {real.get('type', '')}\n"
                                        f"{real.get('stderr', '')}\n"
                                        + fz.describe(ours, kind, ops))
    assert real["outcome"] == ours["outcome"], fz.describe(ours, kind, ops)
