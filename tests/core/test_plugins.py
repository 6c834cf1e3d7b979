"""Plugin discovery: built-ins through the entry point, lazy imports, broken plugins contained.

Fake plugins are real distributions: a dist-info folder with entry_points.txt and modules in
a temporary folder on sys.path, found by importlib.metadata exactly as installed ones are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from explorer import cli, plugins
from explorer.compute.compression.codecs import make_codec
from explorer.compute.compression.methods import parse_method
from explorer.compute.projection import ProjectionParams, methods, project
from explorer.core.embedding_set import EmbeddingSet
from explorer.core.errors import InputError
from explorer.core.loaders import detect_format, formats, open_file, supported_extensions
from fake_plugins import installed

DECLARATION = """
from explorer.plugins import Contribution

CONTRIBUTIONS = [
    Contribution("loader", "lazyvec", "lazy_impl:load", sniff="lazy_impl:sniff",
                 extensions=(".lazyvec",), description="test vectors"),
    # claims .npy before the built-in, and its content check raises
    Contribution("loader", "greedy-npy", "lazy_impl:load", sniff="lazy_impl:raising_sniff",
                 extensions=(".npy",), priority=10),
    Contribution("loader", "gone", "lazy_gone:load", sniff="lazy_gone:sniff",
                 extensions=(".gone",)),
    Contribution("projection", "lazyproj", "lazy_impl:fit", label="Lazy", version=3),
    Contribution("projection", "wrongproj", "lazy_impl:wrong_shape"),
    Contribution("projection", "explodes", "lazy_impl:raising_fit"),
    Contribution("projection", "missing", "lazy_gone:fit"),
    Contribution("projection", "pca", "lazy_impl:fit"),  # taken by the built-in
    Contribution("compression", "toy16", "lazy_impl:ToyCodec"),
]
"""

IMPLEMENTATION = """
import numpy as np
from explorer.core.loaders.base import Loaded

def sniff(head, path):
    return head.startswith(b"LAZYVEC")

def load(path, options, state):
    rows = [[float(v) for v in line.split()] for line in path.read_text().splitlines()[1:]]
    return Loaded(np.array(rows, dtype=np.float32), notes=["read by lazy_impl"])

def raising_sniff(head, path):
    raise RuntimeError("sniff exploded")

def fit(vectors, params, state):
    return np.asarray(vectors[:, :params.dims], dtype=np.float32), {"plugin": "lazyproj"}

def wrong_shape(vectors, params, state):
    return np.zeros((1, 2)), {}

def raising_fit(vectors, params, state):
    raise RuntimeError("fit exploded")

from explorer.compute.compression.codecs import Codec
from explorer.compute.compression.methods import parse_method

class ToyCodec(Codec):
    # int8 scalar quantisation under the plugin's own name
    def __init__(self, method, metric):
        super().__init__(parse_method("sq8"), metric)
"""


def _distribution(site: Path, name: str, entry_points: dict[str, str],
                  modules: dict[str, str]) -> None:
    info = site / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{plugins.GROUP}]\n" + "".join(f"{k} = {v}\n" for k, v in entry_points.items()))
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))


FAKE_MODULES = ("lazy_decl", "lazy_impl", "broken_decl", "exits_decl", "weird_decl")


@pytest.fixture
def site(tmp_path):
    """A folder with four fake plugin distributions, on sys.path for the test."""
    site = tmp_path / "site"
    site.mkdir()
    _distribution(site, "lazy-plugin", {"lazy": "lazy_decl:CONTRIBUTIONS"},
                  {"lazy_decl": DECLARATION, "lazy_impl": IMPLEMENTATION})
    _distribution(site, "broken-plugin", {"broken": "broken_decl:CONTRIBUTIONS"},
                  {"broken_decl": "import fancylib_that_is_not_installed\n"})
    _distribution(site, "exits-plugin", {"exits": "exits_decl:CONTRIBUTIONS"},
                  {"exits_decl": "raise SystemExit(3)\n"})
    _distribution(site, "weird-plugin", {"weird": "weird_decl:declare"},
                  {"weird_decl": "def declare():\n    return ['not a contribution']\n"})
    return site


@pytest.fixture
def registry(site):
    with installed(site, FAKE_MODULES) as reg:
        yield reg


def _entry(reg: plugins.Registry, kind: str, name: str, dist: str = "lazy-plugin"):
    return next(e for e in reg.entries
                if (e.spec.kind, e.spec.name, e.origin.distribution) == (kind, name, dist))


def test_builtins_come_through_the_entry_point():
    reg = plugins.reload()
    assert reg.notes == [] and reg.failures == []
    pca = reg.find("projection", "pca")
    assert pca.origin.builtin and pca.origin.entry_point == "builtins"
    assert pca.origin.distribution == "embedding-explorer"
    assert {"npy", "parquet", "hdf5", "word2vec-bin"} <= set(reg.names("loader"))
    assert reg.names("encoder")[:1] == ("minilm",)
    assert {"fp16", "sq8", "pq", "opq", "binary", "flat"} <= set(reg.names("compression"))
    assert methods()[:4] == ("pca", "umap", "tsne", "identity")
    assert ".npy" in supported_extensions() and ".bin" in supported_extensions()


def test_without_our_metadata_the_builtins_are_registered_directly():
    reg = plugins.discover([])
    assert reg.names("projection")[:4] == ("pca", "umap", "tsne", "identity")
    assert [f.name for f in _formats_of(reg)][:2] == ["npy", "npz"]
    assert len(reg.notes) == 1 and "registered directly" in reg.notes[0]
    assert reg.find("loader", "npy").origin.entry_point == "(direct)"


def test_unreadable_metadata_is_a_failure_not_a_crash():
    def damaged():
        raise ValueError("bad entry_points.txt")
        yield

    reg = plugins.discover(damaged())
    assert reg.failures[0].error == "cannot read their metadata: ValueError: bad entry_points.txt"
    assert reg.find("loader", "npy") is not None  # the built-ins, registered directly


def _formats_of(reg):
    from explorer.core.loaders import _formats

    return _formats(reg)


def test_discovery_imports_declarations_not_implementations(registry):
    assert "lazy_decl" in sys.modules
    assert "lazy_impl" not in sys.modules
    entry = registry.find("projection", "lazyproj")
    assert entry.status == "not loaded" and not entry.loaded
    assert entry.spec.title == "Lazy" and entry.origin.distribution == "lazy-plugin"
    assert "lazyproj" in methods()
    assert entry.resolve().__module__ == "lazy_impl"
    assert "lazy_impl" in sys.modules and entry.status == "loaded"


def test_broken_declarations_are_recorded_not_raised(registry):
    failures = {f.origin.distribution: f for f in registry.failures}
    assert set(failures) == {"broken-plugin", "exits-plugin", "weird-plugin"}
    assert "fancylib_that_is_not_installed" in failures["broken-plugin"].error
    assert "ModuleNotFoundError" in failures["broken-plugin"].details
    assert failures["exits-plugin"].error == "SystemExit: 3"
    assert "not a contribution" in failures["weird-plugin"].error
    # the plugin that was readable is registered, the built-ins first and unchanged
    assert registry.names("projection")[:4] == ("pca", "umap", "tsne", "identity")
    assert registry.find("projection", "pca").origin.builtin
    taken = _entry(registry, "projection", "pca")
    assert taken.status == "ignored" and "already taken by built-in" in taken.error


def test_plugin_loader_opens_its_format(registry, tmp_path):
    path = tmp_path / "points.lazyvec"
    path.write_text("LAZYVEC\n1 2 3\n4 5 6\n")
    assert ".lazyvec" in supported_extensions()
    es = open_file(path)
    assert es.format == "lazyvec" and es.vectors.shape == (2, 3)
    assert es.notes == ["read by lazy_impl"]
    assert registry.find("loader", "lazyvec").status == "loaded"
    fmt = next(f for f in formats() if f.name == "lazyvec")
    assert fmt.plugin == "lazy-plugin"


def test_a_raising_sniff_gives_way_to_the_builtin(registry, tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.eye(4, dtype=np.float32))
    es = open_file(path)
    assert es.format == "npy"
    greedy = registry.find("loader", "greedy-npy")
    assert greedy.status == "failed" and greedy.error == "RuntimeError: sniff exploded"
    assert "sniff exploded" in greedy.details


def test_a_plugin_loader_that_cannot_import_is_the_message(registry, tmp_path):
    path = tmp_path / "x.gone"
    path.write_bytes(b"whatever")
    with pytest.raises(InputError) as err:
        detect_format(path, path.read_bytes())
    assert isinstance(err.value, plugins.PluginFailure)
    assert "the loader 'gone' (plugin lazy-plugin) failed: cannot import lazy_gone:sniff" \
        in err.value.message
    assert "Plugins" in err.value.hint
    assert registry.find("loader", "gone").status == "failed"


def test_plugin_projection_runs_and_is_cached_under_its_version(registry):
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    params = ProjectionParams(method="lazyproj")
    assert params.key().startswith("lazyproj-2d-v3-")
    assert params.relevant()["n_neighbors"] == 15  # a plugin may read the generic knobs
    result = project(x, params)
    np.testing.assert_array_equal(result.coords, x[:, :2])
    assert result.info["plugin"] == "lazyproj"


@pytest.mark.parametrize("method, text", [
    ("wrongproj", "returned coordinates of shape (1, 2)"),
    ("explodes", "RuntimeError: fit exploded"),
    ("missing", "cannot import lazy_gone:fit: ModuleNotFoundError"),
])
def test_failing_plugin_projections_are_clear_errors(registry, method, text):
    with pytest.raises(InputError, match="failed") as err:
        project(np.ones((5, 4), np.float32), ProjectionParams(method=method))
    assert text in err.value.message
    assert registry.find("projection", method).status == "failed"
    assert registry.to_dict()["problems"] >= 4


def test_plugin_codec_is_parsed_and_built(registry):
    method = parse_method("toy16")
    assert method.codec == "toy16"
    codec = make_codec(method, "cosine")
    assert type(codec).__name__ == "ToyCodec" and codec.metric == "cosine"
    with pytest.raises(InputError, match="from plugins: toy16"):
        parse_method("toy17")


def test_plugin_codec_runs_in_the_workbench(registry):
    from explorer.compute import compression as cz

    x = np.random.default_rng(4).normal(size=(600, 16)).astype(np.float32)
    es = EmbeddingSet(x, pa.table({"id": [str(i) for i in range(600)]}), name="p",
                      format="test", source=[], metric="cosine")
    plugin, builtin = cz.evaluate(es, ["toy16", "sq8"], k=5, queries=50).methods
    assert plugin.name == "toy16" and plugin.bytes_per_vector == builtin.bytes_per_vector == 16
    assert plugin.overlap == builtin.overlap
    np.testing.assert_array_equal(plugin.ids, builtin.ids)


def test_unknown_method_lists_the_plugin_ones(registry):
    with pytest.raises(ValueError, match="lazyproj"):
        ProjectionParams(method="nope")


def test_cli_lists_plugins_and_keeps_working(registry, tmp_path, capsys):
    assert cli.run(["plugins", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["group"] == plugins.GROUP
    assert {f["distribution"] for f in out["failures"]} == {"broken-plugin", "exits-plugin",
                                                          "weird-plugin"}
    lazy = next(c for c in out["contributions"] if c["name"] == "lazyproj")
    assert lazy["distribution"] == "lazy-plugin" and not lazy["builtin"]
    assert lazy["status"] == "not loaded" and lazy["error"] is None
    npy = tmp_path / "x.npy"
    np.save(npy, np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32))
    assert cli.run(["inspect", str(npy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 20
    assert cli.run(["project", str(npy), "--method", "explodes", "--json"]) == 2
    assert "error: the projection 'explodes' (plugin lazy-plugin) failed" in capsys.readouterr().err


def test_cli_in_a_fresh_process_survives_broken_plugins(site, tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-m", "explorer", "plugins"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "failed: broken-plugin 1.0 (entry point broken): ModuleNotFoundError" in run.stdout
    assert "projection   lazyproj" in run.stdout
    npy = tmp_path / "x.npy"
    np.save(npy, np.eye(3, dtype=np.float32))
    run = subprocess.run([sys.executable, "-m", "explorer", "inspect", str(npy), "--json"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["format"] == "npy"


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="unknown kind"):
        plugins.Contribution("view", "x", "m:a")
    with pytest.raises(ValueError, match="lowercase"):
        plugins.Contribution("projection", "My Method", "m:a")
    with pytest.raises(ValueError, match="not 'module:attribute'"):
        plugins.Contribution("projection", "x", "m.a")
    with pytest.raises(ValueError, match="claims no file"):
        plugins.Contribution("loader", "x", "m:load", sniff="m:sniff")


def test_plugins_module_loads_no_qt():
    code = ("import sys, explorer.plugins, explorer.contributions; explorer.plugins.registry(); "
            "print(any(n.startswith('PySide6') for n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
