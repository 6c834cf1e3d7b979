"""The safetensors loader plugin (plugins/safetensors), on files written by the reference package.

Skipped unless the plugin is installed (`pip install -e 'plugins/safetensors[test]'`).
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("explorer_safetensors")
st = pytest.importorskip("safetensors.numpy")

from explorer import cli, plugins  # noqa: E402
from explorer.core.errors import InputError  # noqa: E402
from explorer.core.library import Library  # noqa: E402
from explorer.core.loaders import LoadOptions, open_file  # noqa: E402

RNG = np.random.default_rng(0)


def _raw(path, tensors: dict[str, tuple[str, list[int], bytes]], pad: bytes = b"") -> None:
    """A safetensors file written by hand (for BF16, which numpy cannot hold, and damage)."""
    header, offset, blobs = {}, 0, []
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs) + pad)


def test_vectors_memory_mapped_with_metadata(tmp_path):
    x = RNG.normal(size=(500, 24)).astype(np.float32)
    path = tmp_path / "docs.safetensors"
    st.save_file({"embeddings": x, "label": (np.arange(500) % 4).astype(np.int64),
                  "score": RNG.random(500).astype(np.float32)}, str(path),
                 metadata={"model": "minilm", "note": "test"})
    es = open_file(path)
    assert es.format == "safetensors" and es.vector_column == "embeddings"
    assert isinstance(es.vectors, np.memmap)
    np.testing.assert_array_equal(es.vectors, x)
    assert es.columns == ["label", "score"]
    assert es.metadata.column("label").to_pylist()[:5] == [0, 1, 2, 3, 0]
    assert "safetensors metadata: model=minilm, note=test" in es.notes
    entry = plugins.registry().find("loader", "safetensors")
    assert entry.status == "loaded" and entry.origin.distribution == "embedding-explorer-safetensors"


def test_float16_and_bfloat16(tmp_path):
    x = RNG.normal(size=(40, 8)).astype(np.float32)
    half = tmp_path / "half.safetensors"
    st.save_file({"vectors": x.astype(np.float16)}, str(half))
    np.testing.assert_array_equal(open_file(half).vectors, x.astype(np.float16))
    bf16 = (x.view(np.uint32) >> 16).astype("<u2")  # bfloat16: the top half of a float32
    path = tmp_path / "bf16.safetensors"
    _raw(path, {"vectors": ("BF16", [40, 8], bf16.tobytes())})
    got = open_file(path).vectors
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, (bf16.astype(np.uint32) << 16).view(np.float32))
    np.testing.assert_allclose(got, x, rtol=1e-2)


def test_several_matrices_ask_for_one(tmp_path):
    path = tmp_path / "model.safetensors"
    st.save_file({"encoder.layer.0.weight": RNG.normal(size=(8, 8)).astype(np.float32),
                  "embeddings.word_embeddings.weight": RNG.normal(size=(30, 8)).astype(np.float32),
                  "encoder.layer.0.bias": np.zeros(8, np.float32)}, str(path))
    with pytest.raises(InputError, match="several 2-D tensors") as err:
        open_file(path)
    assert err.value.option == "dataset" and len(err.value.choices) == 2
    es = open_file(path, LoadOptions(dataset="embeddings.word_embeddings.weight"))
    assert es.vectors.shape == (30, 8)
    with pytest.raises(InputError, match="no tensor named 'nope'"):
        open_file(path, LoadOptions(dataset="nope"))
    with pytest.raises(InputError, match=r"shape \[8\]; a 2-D tensor"):
        open_file(path, LoadOptions(dataset="encoder.layer.0.bias"))


@pytest.mark.parametrize("damage, message", [
    ("truncated", "ends past the end of the file"),
    ("header-length", "header length"),
    ("json", "damaged header"),
    ("offsets", "needs 64 bytes, the header gives bytes 0..60"),
    ("dtype", "has dtype F8_E4M3, which cannot be read here"),
])
def test_damaged_files_are_refused_with_the_reason(tmp_path, damage, message):
    path = tmp_path / "bad.safetensors"
    data = np.ones((4, 4), np.float32).tobytes()
    if damage == "truncated":
        st.save_file({"v": np.ones((100, 4), np.float32)}, str(path))
        path.write_bytes(path.read_bytes()[:-50])
    elif damage == "header-length":
        path.write_bytes(struct.pack("<Q", 10_000) + b"{}" + data)
    elif damage == "json":
        path.write_bytes(struct.pack("<Q", 12) + b'{"v": {"dty' + b"\x00" + data)
    elif damage == "offsets":
        _raw(path, {"v": ("F32", [4, 4], data[:60])}, pad=b"\x00" * 8)
    else:
        _raw(path, {"v": ("F8_E4M3", [4, 4], data[:16])})
    with pytest.raises(InputError, match="bad.safetensors") as err:
        open_file(path)
    assert message in err.value.message


def test_cli_inspect_and_import(tmp_path, capsys):
    path = tmp_path / "items.safetensors"
    st.save_file({"embeddings": RNG.normal(size=(50, 6)).astype(np.float32)}, str(path))
    assert cli.run(["inspect", str(path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["format"], out["count"], out["dim"]) == ("safetensors", 50, 6)
    assert cli.run(["import", str(path), "--name", "items", "--json"]) == 0
    assert Library().open("items").count == 50


def test_discovery_does_not_import_the_reader():
    code = ("import sys, explorer.plugins as p; r = p.registry(); "
            "e = r.find('loader', 'safetensors'); "
            "print(e.status, 'explorer_safetensors' in sys.modules, "
            "'explorer_safetensors.reader' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["not", "loaded", "True", "False"]
