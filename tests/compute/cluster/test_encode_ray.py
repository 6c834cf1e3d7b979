"""Encoding on a local Ray: the local engine's vectors, metadata and skips; resume after a
cancel; a damaged shard encoded again; an actor that dies is replaced and its unit re-run."""

import json
import sys
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from default_model import needs_minilm
from onnx_models import bert_like, image_model, write_folder

from explorer.compute.cluster import encode_ray
from explorer.compute.cluster.encode_ray import UnitEncoder, encode_inputs_ray
from explorer.compute.encoding import pipeline
from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
from explorer.core.errors import InputError
from explorer.core.jobs import Cancelled, TaskState
from explorer.core.library import Library

WORDS = ["the", "cat", "dog", "sat", "on", "mat", "runs", "fast", "slow", "red", "blue"]


@pytest.fixture
def model(tmp_path):
    return str(write_folder(tmp_path / "model", bert_like()))


def write_table(path, n=1200, seed=0):
    rng = np.random.default_rng(seed)
    texts = [" ".join(rng.choice(WORDS, rng.integers(1, 14))) for _ in range(n)]
    texts[7], texts[n - 1] = "", None  # skipped rows, one at the very end
    pq.write_table(pa.table({"text": texts, "n": np.arange(n), "tag": [f"t{i % 7}" for i in
                                                                        range(n)]}),
                   path, row_group_size=250)
    return path


def opened(result):
    return Library().open(result.entry.id)


def assert_same_set(ray_result, local_result, atol=1e-6):
    a, b = opened(ray_result), opened(local_result)
    assert a.metadata.equals(b.metadata)
    np.testing.assert_allclose(np.asarray(a.vectors), np.asarray(b.vectors), atol=atol)
    assert ray_result.skipped == local_result.skipped
    assert ray_result.count == local_result.count


def test_ray_gives_the_local_engines_set_for_a_folder_with_unreadable_files(
        tmp_path, model, ray_local):
    folder = tmp_path / "in"
    folder.mkdir()
    write_table(folder / "a.parquet")
    for i in range(4):
        (folder / f"doc{i}.md").write_text(f"Paragraph {i} about cats. " * 30, encoding="utf-8")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02 not text")
    (folder / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (folder / "broken.parquet").write_bytes(b"PAR1 this is not parquet")
    options = EncodeOptions(model=model, chunk_tokens=40, overlap_tokens=5, batch_size=16)
    local = encode_inputs([folder], EncodeOptions(**{**options.__dict__, "name": "local"}))
    ray = encode_inputs_ray([folder], options, rows_per_unit=300)
    assert_same_set(ray, local)
    reasons = {s.path.rsplit("/", 1)[-1]: s.reason for s in ray.skipped}
    assert {"binary.txt", "latin1.txt", "broken.parquet", "a.parquet"} <= set(reasons)
    out = ray.to_dict()
    assert out["engine"] == "ray" and out["workers"] == 2
    assert out["units"] == 5  # 4 of the table, 1 of the small files
    assert out["resumed_units"] == 0 and out["ray_address"] == "local"
    assert "engine: Ray, 2 workers" in opened(ray).notes[-1]
    assert not list((pipeline.data_home() / pipeline.JOBS_DIR).glob("*"))  # work folder gone


def test_a_cancelled_job_resumes_from_its_finished_shards_and_redoes_a_damaged_one(
        tmp_path, model, ray_local):
    table = write_table(tmp_path / "t.parquet", n=1600)
    options = EncodeOptions(model=model, batch_size=8)
    full = encode_inputs_ray([table], EncodeOptions(**{**options.__dict__, "name": "full"}),
                             rows_per_unit=40)
    assert full.units == 40
    seen = []

    def cancel_after_ten(_fraction):
        seen.append(_fraction)
        if len(seen) == 10:
            state.cancel()

    state = TaskState(on_progress=cancel_after_ten)
    with pytest.raises(Cancelled):
        encode_inputs_ray([table], options, state=state, rows_per_unit=40)
    work = next(p for p in (pipeline.data_home() / pipeline.JOBS_DIR).iterdir() if p.is_dir())
    journaled = [json.loads(line)["file"] for line in
                 (work / "journal.jsonl").read_text().splitlines()[1:]]
    assert len(journaled) == 10
    shard = work / journaled[0]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    again = encode_inputs_ray([table], options, rows_per_unit=40)
    assert again.resumed_units == 9
    assert any("damaged" in n and "has changed" in n for n in again.notices)
    assert again.resumed_from == 9 * 40
    assert_same_set(again, full, atol=0)


def test_images_on_ray_give_the_local_engines_set_with_the_same_skips(tmp_path, ray_local):
    from image_files import picture

    model = str(write_folder(tmp_path / "img-model", image_model(), tokenizer=False))
    folder = tmp_path / "pictures"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(70):
        picture(rng, int(rng.integers(8, 40)), int(rng.integers(8, 40))).save(
            folder / f"p{i:03d}.png")
    (folder / "p005.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")  # skipped, with why
    (folder / "p050.png").write_bytes((folder / "p049.png").read_bytes()[:60])  # truncated
    options = EncodeOptions(model=model, batch_size=8)
    local = encode_inputs([folder], EncodeOptions(model=model, batch_size=8, name="local"))
    ray = encode_inputs_ray([folder], options)
    assert ray.units == 2  # 64 images a unit
    assert_same_set(ray, local)
    assert {s.path.rsplit("/", 1)[-1] for s in ray.skipped} == {"p005.png", "p050.png"}


class HeldUnits(UnitEncoder):
    """Units after the first wait for a file the test writes once the job has stopped."""

    release = ""

    def encode_unit(self, unit):
        import time
        from pathlib import Path

        deadline = time.monotonic() + 60
        while unit.index and not Path(self.release).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return super().encode_unit(unit)


def test_cancel_is_noticed_while_units_run(tmp_path, model, ray_local, monkeypatch):
    table = write_table(tmp_path / "t.parquet", n=300)
    HeldUnits.release = str(tmp_path / "release")
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(encode_ray, "UnitEncoder", HeldUnits)
    cancelled_at = []

    def cancel_soon(_fraction):  # the first unit is in: cancel while the others are held
        def cancel():
            cancelled_at.append(time.monotonic())
            state.cancel()

        threading.Timer(0.5, cancel).start()

    state = TaskState(on_progress=cancel_soon)
    try:
        with pytest.raises(Cancelled):
            encode_inputs_ray([table], EncodeOptions(model=model), state=state,
                              rows_per_unit=100)
        waited = time.monotonic() - cancelled_at[0]
    finally:
        (tmp_path / "release").write_text("go")  # the held units end, and their actors
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert waited < 30  # not the 60 s the held units would take to deliver a record


class CrashOnce(UnitEncoder):
    """Kills its actor's process the first time it meets unit 3 (a marker file says so)."""

    marker = ""

    def encode_unit(self, unit):
        import os
        from pathlib import Path

        if unit.index == 3 and not Path(self.marker).exists():
            Path(self.marker).write_text("crashed")
            os._exit(1)
        return super().encode_unit(unit)


def test_an_actor_that_dies_is_replaced_and_its_unit_encoded(tmp_path, model, ray_local,
                                                             monkeypatch):
    table = write_table(tmp_path / "t.parquet", n=400)
    CrashOnce.marker = str(tmp_path / "crashed")
    from ray import cloudpickle  # Ray's own copy pickles the actor's class

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # actors cannot import tests
    monkeypatch.setattr(encode_ray, "UnitEncoder", CrashOnce)
    try:
        ray = encode_inputs_ray([table], EncodeOptions(model=model), rows_per_unit=50)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert (tmp_path / "crashed").exists() and ray.units == 8
    local = encode_inputs([table], EncodeOptions(model=model, name="local"))
    assert_same_set(ray, local)


class ModelFails(UnitEncoder):
    """A model that cannot run at all: the job stops with the worker's message."""

    def encode_unit(self, unit):
        from explorer.core.errors import InputError

        raise InputError("the model cannot run on 3 text(s) (out of memory)", path="model.onnx")


def test_an_error_about_the_model_stops_the_job_with_its_message(tmp_path, model, ray_local,
                                                                 monkeypatch):
    table = write_table(tmp_path / "t.parquet", n=300)
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(encode_ray, "UnitEncoder", ModelFails)
    try:
        with pytest.raises(InputError, match="cannot run on 3 text") as caught:
            encode_inputs_ray([table], EncodeOptions(model=model))
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert type(caught.value) is InputError and caught.value.path == "model.onnx"
    assert Library().entries() == []


@needs_minilm
def test_minilm_on_ray_matches_the_local_engine_on_two_thousand_docstrings(tmp_path,
                                                                           ray_local):
    from explorer.compute.demo import collect_docstrings
    from explorer.compute.encoding.catalogue import install_model

    model = str(install_model("minilm").path)
    docs = collect_docstrings()
    picked = docs.take(np.linspace(0, docs.num_rows - 1, 2000).astype(int))
    table = pa.table({"text": picked.column("summary"), "id": picked.column("id"),
                      "module": picked.column("module")})
    pq.write_table(table, tmp_path / "docs.parquet", row_group_size=500)
    t0 = time.perf_counter()
    local = encode_inputs([tmp_path / "docs.parquet"], EncodeOptions(model=model, name="local"))
    t1 = time.perf_counter()
    ray = encode_inputs_ray([tmp_path / "docs.parquet"], EncodeOptions(model=model))
    assert ray.units == 8  # 256 items each: both workers get some
    t2 = time.perf_counter()
    a, b = opened(ray), opened(local)
    assert a.count == b.count == 2000 and a.metadata.equals(b.metadata)
    va, vb = np.asarray(a.vectors), np.asarray(b.vectors)
    cosine = np.sum(va * vb, axis=1) / (np.linalg.norm(va, axis=1) * np.linalg.norm(vb, axis=1))
    assert cosine.min() >= 0.9999
    print(f"\nminilm, 2,000 docstring summaries: local {2000 / (t1 - t0):.0f} items/s, "
          f"Ray ({ray.workers} workers) {2000 / (t2 - t1):.0f} items/s, ratio Ray/local "
          f"{(t1 - t0) / (t2 - t1):.2f}; min cosine {cosine.min():.7f}")
