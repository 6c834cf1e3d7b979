"""Every command that takes SQL refuses the issue's attacks with one line, run as a user would.

Each case runs `python -m explorer` in a subprocess with its own HOME, so a leak shows up as
file text in the output, a traceback, or an extension folder DuckDB made while trying to
install httpfs.
"""

import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

SECRET = "s3cr3t-passwd-line"
N, D = 60, 8


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("sql")
    secret = root / "passwd"
    secret.write_text(SECRET + "\n")
    rng = np.random.default_rng(3)
    data = root / "items.parquet"
    pq.write_table(pa.table({
        "grp": (["a", "b", "c"] * N)[:N],
        "size": list(range(N)),
        "embedding": list(rng.standard_normal((N, D)).astype(np.float32)),
    }), data)
    env = {**os.environ, "HOME": str(root / "home"), "EXPLORER_HOME": str(root / "lib"),
           "QT_QPA_PLATFORM": "offscreen"}
    (root / "home").mkdir()
    done = subprocess.run([sys.executable, "-m", "explorer", "import", str(data), "--name", "s"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    return root, secret, env


ATTACKS = [
    ("CAST((SELECT content FROM read_text('{secret}')) AS INTEGER) = 1", "subquery"),
    ("1=0) UNION ALL SELECT content FROM read_text('{secret}') --", "one expression only"),
    ("1=0) UNION ALL SELECT 999999 --", "one expression only"),
    ("EXISTS (SELECT * FROM glob('{home}/*'))", "subquery"),
    ("len(glob('/root/.*')) > 0", "table function 'glob'"),
    ("EXISTS (SELECT * FROM read_csv('https://example.com/x.csv'))", "subquery"),
]


def commands(expr: str) -> list[list[str]]:
    return [["filter", "s", expr],
            ["neighbours", "s", "--row", "1", "--where", expr],
            ["concept", "s", "--where-a", expr, "--where-b", "grp = 'b'"],
            ["concept", "s", "--where-a", "grp = 'a'", "--where-b", expr]]


@pytest.mark.parametrize("attack, fragment", ATTACKS)
def test_sql_attacks_get_one_clean_line_in_every_command(world, attack, fragment):
    root, secret, env = world
    expr = attack.format(secret=secret, home=root)
    for args in commands(expr):
        out = subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True,
                             text=True, env=env, timeout=300)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, out.stderr)
        assert fragment in lines[0], (args, lines[0])
        assert SECRET not in out.stdout + out.stderr
    assert not (root / "home" / ".duckdb").exists()  # no extension install was tried
