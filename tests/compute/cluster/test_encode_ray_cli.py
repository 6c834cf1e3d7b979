"""`encode --engine ray --json` on the session's local Ray: the set, and where it ran; the
input given as a URI (file:// here: pyarrow.fs reads the others the same way)."""

import numpy as np
from in_process import cli_json
from onnx_models import bert_like, write_folder

from explorer.core.library import Library


def test_encode_on_ray_from_the_command_line(tmp_path, capsys, ray_local):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(6):
        (docs / f"d{i}.md").write_text(f"Document {i} talks about boats. " * 30, encoding="utf-8")
    model = write_folder(tmp_path / "model", bert_like())
    out = cli_json(capsys, "encode", docs.as_uri(), "--model", model, "--engine", "ray",  # a URI
                   "--workers",
                   "2", "--chunk-tokens", "20", "--overlap-tokens", "0", "--out", "boats")
    local = cli_json(capsys, "encode", docs, "--model", model, "--chunk-tokens", "20",
                     "--overlap-tokens", "0", "--out", "boats-local")
    assert out["engine"] == "ray" and out["workers"] == 2 and out["ray_address"] == "local"
    assert out["units"] >= 1 and out["resumed_units"] == 0 and out["resumed_from"] == 0
    assert out["count"] == local["count"] > 6 and out["dim"] == 8
    lib = Library()
    a, b = lib.open(out["set"]), lib.open(local["set"])
    assert a.name == "boats" and a.metadata.equals(b.metadata)
    np.testing.assert_allclose(np.asarray(a.vectors), np.asarray(b.vectors), atol=1e-6)
