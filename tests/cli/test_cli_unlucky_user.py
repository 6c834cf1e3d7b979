"""An unlucky user: every subcommand against a damaged library, a read-only one, a full disk and
bad arguments ends in one `error:` line and exit status 2 — never a traceback, never a silent
wrong answer."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from explorer.cli import run
from explorer.core.library import Library
from explorer.core.partial_folders import PARTIAL_PREFIX

N, D = 300, 16


def write_inputs(folder: Path) -> tuple[Path, Path]:
    """An embedding file and a table of texts (for encode) in `folder`."""
    rng = np.random.default_rng(0)
    vectors = folder / "toy.parquet"
    pq.write_table(pa.table({"id": [f"i{i}" for i in range(N)],
                             "grp": ["a", "b", "c"] * (N // 3),
                             "embedding": list(rng.normal(size=(N, D)).astype(np.float32))}),
                   vectors)
    texts = folder / "texts.csv"
    texts.write_text("title\n" + "\n".join(f"the cat sat on mat {i}" for i in range(40)) + "\n")
    return vectors, texts


def tiny_model() -> None:
    from onnx_models import bert_like, write_folder

    from explorer.compute.encoding.model_folder import models_dir

    write_folder(models_dir() / "tiny", bert_like(dim=8))


def one_error_line(capsys, argv: list, fragment: str = "") -> str:
    """Run the CLI here: exit 2, nothing on stdout, one `error:` line naming `fragment`."""
    code = run([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and out == "", (argv, code, out, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
    assert fragment in lines[0], (argv, lines[0])
    return lines[0]


def json_of(capsys, argv: list) -> dict:
    assert run([str(a) for a in argv] + ["--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def inputs(tmp_path):
    return write_inputs(tmp_path)


# --- a damaged library -------------------------------------------------------------------

def _edit(path: Path, **changes):
    data = json.loads(path.read_text())
    data.update(changes)
    path.write_text(json.dumps(data))


DAMAGE = {
    "empty-vectors": (lambda f: (f / "vectors.npy").write_bytes(b""), "the file is empty"),
    "rows": (lambda f: pq.write_table(pq.read_table(f / "metadata.parquet").slice(0, 250),
                                      f / "metadata.parquet"),
             "metadata.parquet has 250 rows but vectors.npy has 300"),
    "metric": (lambda f: _edit(f / "manifest.json", metric="manhattan"),
               "unknown metric 'manhattan'"),
    "manifest": (lambda f: (f / "manifest.json").write_text('{"id": "x", tru'), "not valid JSON"),
}

SET_COMMANDS = [
    ["neighbours", "{s}", "--row", "1"],
    ["neighbours", "{s}", "--row", "1", "--metric", "all"],
    ["index", "{s}"],
    ["hubness", "{s}"],
    ["compress", "{s}", "--methods", "fp16", "--queries", "20"],
    ["project", "{s}"],
    ["concept", "{s}", "--rows-a", "1", "2", "--rows-b", "3", "4"],
    ["filter", "{s}", "grp = 'a'"],
    ["search", "{s}", "a"],
]


@pytest.fixture
def damaged_library(inputs, capsys):
    """One good set and one set per kind of damage, named after it."""
    for name in ["good", *DAMAGE]:
        json_of(capsys, ["import", inputs[0], "--name", name])
    for name, (damage, _) in DAMAGE.items():
        damage(Library().sets_dir / name)
    return Library()


@pytest.mark.parametrize("damage", [*DAMAGE, "missing"])
def test_every_command_names_a_damaged_set(damaged_library, capsys, damage):
    reason = DAMAGE[damage][1] if damage in DAMAGE else "no library set 'missing'"
    for command in SET_COMMANDS:
        line = one_error_line(capsys, [a.format(s=damage) for a in command], reason)
        if damage in DAMAGE:
            assert f"library set {damage!r} is damaged" in line
            assert str(damaged_library.sets_dir / damage) in line


def test_list_shows_the_damaged_sets_and_remove_removes_them(damaged_library, capsys):
    listed = json_of(capsys, ["list"])
    assert [s["id"] for s in listed["sets"]] == ["good"]
    assert sorted(d["id"] for d in listed["damaged"]) == sorted(DAMAGE)
    for d in listed["damaged"]:
        assert DAMAGE[d["id"]][1] in d["reason"]
    assert run(["list"]) == 0
    human = capsys.readouterr().out
    for name, (_, reason) in DAMAGE.items():
        assert any(line.startswith(name) and "damaged: " in line and reason in line
                   for line in human.splitlines())
    for name in DAMAGE:
        assert json_of(capsys, ["remove", name])["removed"]["id"] == name
    assert json_of(capsys, ["list"])["damaged"] == []
    assert sorted(p.name for p in damaged_library.sets_dir.iterdir()) == ["good"]


def test_a_flipped_byte_in_the_stored_norms_changes_no_answer(inputs, capsys):
    set_id = json_of(capsys, ["import", inputs[0]])["id"]
    before = json_of(capsys, ["neighbours", set_id, "--row", "5"])
    norms = Library().sets_dir / set_id / "artifacts" / "index" / "norms.npy"
    data = bytearray(norms.read_bytes())
    data[-8:] = np.float32([1e-3, 1e-3]).tobytes()  # two rows look almost zero-length
    norms.write_bytes(bytes(data))
    out = subprocess.run([sys.executable, "-m", "explorer", "neighbours", set_id, "--row", "5",
                          "--json"], capture_output=True, text=True, check=True, timeout=300)
    assert json.loads(out.stdout)["neighbours"] == before["neighbours"]
    rebuilt = np.load(norms)  # deleted as damaged, then computed again
    assert rebuilt[-1] > 0.5


# --- --out: into what the user named ------------------------------------------------------

def test_out_a_folder_is_refused_before_the_work(inputs, tmp_path, capsys):
    folder = tmp_path / "results"
    folder.mkdir()
    one_error_line(capsys, ["concept", inputs[0], "--rows-a", "1", "--rows-b", "2", "--out",
                            folder], f"{folder}: is a folder")
    one_error_line(capsys, ["project", inputs[0], "--out", folder], f"{folder}: is a folder")
    one_error_line(capsys, ["project", inputs[0], "--out", tmp_path / "xy.xlsx"],
                   "cannot write .xlsx")
    assert list(folder.iterdir()) == []


def test_out_a_device_is_written_into_never_replaced(inputs, tmp_path, capsys):
    full = tmp_path / "full"
    try:
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))  # what /dev/full is
    except PermissionError:
        pytest.skip("making a device node needs root")
    one_error_line(capsys, ["concept", inputs[0], "--rows-a", "1", "--rows-b", "2", "--out",
                            full], f"{full}: cannot write into it (No space left on device)")
    link = tmp_path / "xy.parquet"
    link.symlink_to(full)
    one_error_line(capsys, ["project", inputs[0], "--out", link], "No space left on device")
    assert stat.S_ISCHR(full.stat().st_mode) and link.is_symlink()


# --- a full disk: one line, nothing half-written in the library ---------------------------

def test_a_full_disk_is_one_line_and_leaves_the_library_as_it_was(inputs, tmp_path, capsys,
                                                                  monkeypatch):
    tiny_model()
    set_id = json_of(capsys, ["import", inputs[0], "--name", "before"])["id"]
    sets = Library().sets_dir

    def files():
        return sorted(str(p.relative_to(sets)) for p in sets.rglob("*") if not p.is_dir())

    was = files()

    def full(fd):  # where a full disk shows itself when the data is finally written
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    disk_full = f"the disk holding the library folder {sets} is full"
    one_error_line(capsys, ["import", inputs[0], "--name", "after"], disk_full)
    one_error_line(capsys, ["encode", inputs[1], "--model", "tiny", "--column", "title"],
                   "is full (No space left on device)")
    one_error_line(capsys, ["concept", set_id, "--rows-a", "1", "--rows-b", "2", "--save"],
                   f"the disk holding the library set's folder {sets / set_id} is full")
    out = tmp_path / "xy.parquet"
    one_error_line(capsys, ["project", set_id, "--out", out], f"the disk holding the folder "
                   f"{tmp_path} is full")
    assert files() == was and not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# --- a read-only library: as a user without write permission ------------------------------

READ_ONLY_COMMANDS = [
    (["import", "{inputs}/toy.parquet", "--name", "new"], "the library folder {sets} is not "
                                                          "writable"),
    (["remove", "toy"], "the library folder {sets} is not writable"),
    (["encode", "{inputs}/texts.csv", "--model", "tiny", "--column", "title"],
     "the library folder {sets} is not writable"),
    (["concept", "toy", "--rows-a", "1", "--rows-b", "2", "--save"],
     "the library set's folder {sets}/toy is not writable"),
    (["concept", "toy", "--rows-a", "1", "--rows-b", "2", "--out", "{home}/d.json"],
     "the folder {home} is not writable"),
    (["project", "toy", "--out", "{home}/xy.parquet"], "the folder {home} is not writable"),
]


@pytest.fixture
def read_only_home(monkeypatch):
    """A library this test's user may read but not write (root is dropped to `nobody`).

    Lives in a world-readable temporary folder, since pytest's own is private to root.
    """
    as_root = os.geteuid() == 0
    if as_root and shutil.which("setpriv") is None:
        pytest.skip("dropping root needs setpriv")
    base = Path(tempfile.mkdtemp(prefix="explorer-read-only-"))
    try:
        home, inputs, numba = base / "home", base / "inputs", base / "numba"
        for folder in (home, inputs, numba):
            folder.mkdir()
        write_inputs(inputs)
        monkeypatch.setenv("EXPLORER_HOME", str(home))
        tiny_model()
        assert run(["import", str(inputs / "toy.parquet"), "--name", "toy"]) == 0
        for path in [base, *base.rglob("*")]:
            if path.is_dir():
                path.chmod(0o777 if path == numba else 0o555)
            else:
                path.chmod(0o444)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", NUMBA_CACHE_DIR=str(numba),
                   HOME=str(base), PYTHONDONTWRITEBYTECODE="1")
        prefix = (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
                  if as_root else [])
        yield base, home, prefix, env
    finally:
        for path in [base, *base.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.parametrize("argv, fragment", READ_ONLY_COMMANDS)
def test_a_read_only_library_is_one_line(read_only_home, argv, fragment):
    base, home, prefix, env = read_only_home
    names = {"inputs": base / "inputs", "home": home, "sets": home / "sets"}
    argv = [a.format(**names) for a in argv]
    before = sorted(p.name for p in (home / "sets").iterdir())
    out = subprocess.run([*prefix, sys.executable, "-m", "explorer", *argv], env=env,
                         capture_output=True, text=True, cwd=base, timeout=300)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and out.stdout == "" and len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ") and fragment.format(**names) in lines[0], lines[0]
    assert sorted(p.name for p in (home / "sets").iterdir()) == before


# --- bad arguments -------------------------------------------------------------------------

BAD_ARGUMENTS = [
    (["neighbours", "{set}", "--row", "1", "-k", "0"], "k must be between 1 and 1000"),
    (["neighbours", "{set}", "--row", "-1"], "out of range"),
    (["neighbours", "{set}", "--id", "nosuch"], "no item named 'nosuch'"),
    (["neighbours", "{set}", "--vector-file", "{tmp}"], "cannot read a vector"),
    (["neighbours", "{set}", "--row", "1", "--where", "bad syntax ("], "syntax error"),
    (["neighbours", "{set}", "--row", "1", "--where", "1=0) UNION ALL SELECT 1 --"],
     "one expression only"),
    (["hubness", "{set}", "-k", "0"], "k must be between 1 and 299"),
    (["compress", "{set}", "--queries", "0"], "at least 1"),
    (["compress", "{set}", "--methods", "nosuch"], "unknown compression method"),
    (["project", "{set}", "--sample", "-5"], "sample must be at least 2"),
    (["project", "{set}", "--dims", "4"], "invalid choice"),
    (["concept", "{set}"], "give exactly one pair of poles"),
    (["concept", "{set}", "--rows-a", "1", "--rows-b", "1"], "in both group A and group B"),
    (["concept", "{set}", "--rows-a", "1", "--rows-b", "2", "--top", "-1"],
     "--top must be 0 or more"),
    (["concept", "{set}", "--rows-a", "1", "--rows-b", "2", "--check-a", "grp = 'a'"],
     "go together"),
    (["filter", "{set}", ""], "the filter is empty"),
    (["filter", "{set}", "1=0) UNION ALL SELECT 999999 --"], "one expression only"),
    (["filter", "{set}", "grp = 'a'; DROP TABLE items"], "one expression only"),
    (["filter", "{set}", "read_csv('/etc/passwd') IS NOT NULL"], "not allowed"),
    (["filter", "{set}", "grp = 'a'", "--limit", "-1"], "--limit must be 0 or more"),
    (["search", "{set}", "a", "--limit", "-5"], "--limit must be 0 or more"),
    (["import", "{tmp}/nonexistent.npy"], "no such file"),
    (["import", "{file}", "--name", " "], "--name is empty"),
    (["import", "{file}", "--vectors", "nosuch"], "no column matches 'nosuch'"),
    (["inspect", "{empty}"], "holds no Parquet or Arrow shard files"),  # a folder is shards
    (["remove", "nosuch"], "no library set 'nosuch'"),
    (["encode", "{file}", "--chunk-tokens", "0"], "--chunk-tokens must be at least 1"),
    (["encode", "{file}", "--out", ""], "--out is empty"),
    (["encode", "{file}", "--model", "nosuch"], "no model folder or installed model"),
    (["models", "install", "nosuch"], "no model named 'nosuch'"),
    (["models", "install"], "name the model"),
    (["screenshot", "{set}", "--out", "{tmp}/s.png", "--size", "0x0"], "at least 1"),
    (["screenshot", "{set}", "--out", "{tmp}", "--size", "big"], "expected WIDTHxHEIGHT"),
    (["screenshot", "{set}", "--out", "{tmp}"], "is a folder"),
    (["neighbours"], "required"),
    (["nosuchcommand"], "invalid choice"),
]


def test_bad_arguments_are_one_line(inputs, tmp_path, capsys):
    set_id = json_of(capsys, ["import", inputs[0]])["id"]
    (tmp_path / "empty").mkdir()
    names = {"set": set_id, "tmp": tmp_path, "file": inputs[0], "empty": tmp_path / "empty"}
    for argv, fragment in BAD_ARGUMENTS:
        one_error_line(capsys, [a.format(**names) for a in argv], fragment)
    leftovers = [p.name for p in Library().sets_dir.iterdir() if p.name.startswith(PARTIAL_PREFIX)]
    assert leftovers == [] and [e.id for e in Library().entries()] == [set_id]


def test_as_a_user_sees_it(damaged_library, tmp_path):
    """The same, through the installed entry point: no traceback reaches the terminal."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    for argv in (["neighbours", "rows", "--row", "1"], ["list"], ["remove", "manifest"],
                 ["filter", "good", "1=0) UNION ALL SELECT 999999 --"]):
        out = subprocess.run([sys.executable, "-m", "explorer", *argv], env=env,
                             capture_output=True, text=True, timeout=300)
        assert "Traceback" not in out.stderr
        if argv[0] in ("list", "remove"):
            assert out.returncode == 0 and out.stderr == ""
        else:
            assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1


def test_what_the_system_refuses_is_one_line_even_where_nothing_expected_it(inputs, capsys,
                                                                            monkeypatch):
    import duckdb

    from explorer.core.metadata import MetadataQuery

    set_id = json_of(capsys, ["import", inputs[0]])["id"]

    def io_error(*args, **kwargs):
        raise OSError(errno.EIO, os.strerror(errno.EIO), "/dev/sdz")

    with monkeypatch.context() as m:
        m.setattr(Library, "scan", io_error)
        one_error_line(capsys, ["list"], "error: /dev/sdz: Input/output error")

    def leaked(*args, **kwargs):  # the SQL layer is meant to turn these into InputError
        raise duckdb.BinderException("Binder Error: something the filter check missed\nLINE 1")

    monkeypatch.setattr(MetadataQuery, "filter", leaked)
    one_error_line(capsys, ["filter", set_id, "x = 1"],
                   "error: Binder Error: something the filter check missed")
