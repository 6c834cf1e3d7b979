"""`encode --engine`: without Ray, one line naming the extra (exit 2) before any work; the
Ray options are refused with the local engine; the local engine's JSON names its engine."""

import pytest
from in_process import cli_error, cli_json
from onnx_models import bert_like, write_folder

from explorer.compute.cluster import ray_session
from explorer.core.library import Library


def test_ray_without_the_cluster_extra_names_it_in_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "a.md").write_text("Some text to encode.", encoding="utf-8")
    monkeypatch.setattr(ray_session, "ray_available", lambda: ray_session.INSTALL_HINT)
    line = cli_error(capsys, "encode", tmp_path / "a.md", "--model", tmp_path / "nosuchmodel",
                     "--engine", "ray")
    assert line == f"error: {ray_session.INSTALL_HINT}"  # said before the model is looked at
    assert "embedding-explorer[cluster]" in line
    assert Library().entries() == []


@pytest.mark.parametrize("extra", [["--workers", "2"], ["--ray-address", "auto"]])
def test_ray_options_need_the_ray_engine(tmp_path, capsys, extra):
    (tmp_path / "a.md").write_text("Some text to encode.", encoding="utf-8")
    line = cli_error(capsys, "encode", tmp_path / "a.md", *extra)
    assert "--engine ray" in line


def test_workers_below_one_are_refused(tmp_path, capsys):
    (tmp_path / "a.md").write_text("Some text to encode.", encoding="utf-8")
    assert "--workers must be at least 1" in cli_error(
        capsys, "encode", tmp_path / "a.md", "--engine", "ray", "--workers", "0")


def test_an_unknown_engine_is_refused(tmp_path, capsys):
    assert "invalid choice: 'spark'" in cli_error(capsys, "encode", tmp_path, "--engine", "spark")


def test_the_local_engine_says_so_in_its_json(tmp_path, capsys):
    (tmp_path / "a.md").write_text("Some text to encode. " * 5, encoding="utf-8")
    model = write_folder(tmp_path / "model", bert_like())
    out = cli_json(capsys, "encode", tmp_path / "a.md", "--model", model)
    assert out["engine"] == "local" and out["count"] == 1
    assert out["units"] is None and out["workers"] is None and out["ray_address"] is None
