"""CLIP-style model folders: an image model and its text tower, and text-to-image queries.

The tiny pairs (clip_models.py) share a colour space, so "a red square" must rank the
red images first; every way in (the library's query, the Python API, the CLI) goes
through neighbours_query / text_query, and each is checked here against the colours.
"""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest
from PIL import Image

from explorer.compute import neighbours as nb
from explorer.compute.encoding.image_encoder import ImageEncoder
from explorer.compute.encoding.model_folder import open_model
from explorer.compute.encoding.pipeline import EncodeOptions, encode_inputs
from explorer.compute.encoding.set_model import model_label, set_model
from explorer.compute.encoding.text_encoder import TextEncoder
from explorer.compute.neighbours_query import QuerySpec
from explorer.core.errors import InputError
from explorer.core.library import Library
from clip_models import (
    CLIP_MEAN,
    CLIP_STD,
    COLOURS,
    MAX_TOKENS,
    SIZE,
    colour_vector,
    text_model,
    vision_model,
    write_pair,
)

LAYOUTS = ["split", "onnx", "one"]


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def colour_image(rgb, size: tuple[int, int], border: int = 0) -> Image.Image:
    """A solid colour; with `border`, a black band at each end of the long side that the
    centre crop must cut away (a squash would keep it and shift the mean)."""
    image = Image.new("RGB", size, tuple(255 * c for c in rgb))
    if border:
        w, h = size
        band = Image.new("RGB", (border, h) if w > h else (w, border), (0, 0, 0))
        image.paste(band, (0, 0))
        image.paste(band, (w - border, 0) if w > h else (0, h - border))
    return image


def write_images(folder, per_colour: int = 3):
    """PNG files of every colour, in varied shapes and sizes, named after their colour."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    for name, rgb in COLOURS.items():
        for i in range(per_colour):
            w, h = int(rng.integers(20, 90)), int(rng.integers(20, 90))
            colour_image(rgb, (w, h)).save(folder / f"{name}-{i}.png")
    return folder


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_layout_opens_as_an_image_model_with_its_text_tower(tmp_path, layout):
    folder = open_model(write_pair(tmp_path / "clip", layout=layout))
    assert folder.config.modality == "image" and folder.output == "image_embeds"
    assert folder.dim == 3 and folder.config.pooling == "none"
    tower = folder.text_tower
    assert tower is not None and tower.config.modality == "text"
    assert tower.output == "text_embeds" and tower.dim == 3
    assert tower.config.max_tokens == MAX_TOKENS  # from tokenizer_config.json
    assert tower.tokenizer_file == folder.path / "tokenizer.json"
    # CLIP's processor, read from preprocessor_config.json, not ImageNet's defaults
    assert folder.config.image_mean == pytest.approx(CLIP_MEAN)
    assert folder.config.image_std == pytest.approx(CLIP_STD)
    assert (folder.config.image_size, folder.config.crop) == (SIZE, "center")
    record = folder.provenance()["text_tower"]
    assert record["sha256"] == tower.sha256 and record["output"] == "text_embeds"
    assert (tower.model_file == folder.model_file) == (layout == "one")


@pytest.mark.parametrize("layout", LAYOUTS)
def test_images_are_fed_with_clip_s_mean_and_std_and_centre_cropped(tmp_path, layout):
    encoder = ImageEncoder(write_pair(tmp_path / "clip", layout=layout))
    images = [colour_image(rgb, (40 + 7 * i, 24), border=6)
              for i, rgb in enumerate(COLOURS.values())]
    got = encoder.encode(images, batch_size=3)
    expected = unit(np.stack([colour_vector(rgb) for rgb in COLOURS.values()]))
    # black's centred colour is not zero; every row is a unit vector
    np.testing.assert_allclose(got, expected, atol=1e-5)


@pytest.mark.parametrize("config", [
    {"image_mean": [0.485, 0.456, 0.406], "image_std": [0.229, 0.224, 0.225]},  # ImageNet's
    {"crop": "resize"},  # a squash keeps the black bands
])
def test_other_preprocessing_would_shift_the_vectors(tmp_path, config):
    """The check above can fail: the same image fed another way (explorer-model.json's
    settings win over preprocessor_config.json's)."""
    folder = write_pair(tmp_path / "clip", config=config)
    got = ImageEncoder(folder).encode([colour_image((1, 0, 0), (40, 24), border=6)])[0]
    assert np.abs(got - unit(colour_vector((1, 0, 0)))).max() > 2e-3


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_text_tower_encodes_typed_text_into_the_image_space(tmp_path, layout):
    folder = write_pair(tmp_path / "clip", layout=layout)
    encoder = TextEncoder(folder)  # a pair folder encodes text with its text tower
    got = encoder.encode(["a red square", "blue", "the photo of a yellow square", "red"])
    expected = unit(np.stack([colour_vector(COLOURS[c]) for c in
                              ("red", "blue", "yellow", "red")]))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    long = " ".join(["a"] * 40 + ["green"])  # past the tower's 8 tokens: truncated, no crash
    assert np.all(np.isfinite(encoder.encode([long])))


@pytest.fixture(params=LAYOUTS)
def image_set(request, tmp_path):
    model = write_pair(tmp_path / "clip", layout=request.param)
    result = encode_inputs([write_images(tmp_path / "images")],
                           EncodeOptions(model=str(model), batch_size=5))
    return Library().open(result.entry.id)


def colours_of(es, rows) -> list[str]:
    paths = es.metadata.column("path").to_pylist()
    return [os.path.basename(paths[r]).split("-")[0] for r in rows]


def test_a_typed_colour_ranks_the_images_of_that_colour_first(image_set):
    es = image_set
    assert es.model == model_label(open_model(es.model.split(" (sha256")[0]))
    assert nb.text_query_reason(es) is None
    note = es.notes[-1]  # the set records the processor it was fed with, and its text tower
    assert "16-pixel center crop" in note and "0.48145466" in note and "text tower " in note
    for colour in COLOURS:
        query = QuerySpec("text", expr=f"a {colour} square").build(es, "cosine")
        result = nb.search(es, query, 3, "cosine", None, "flat", True)
        assert colours_of(es, result.neighbours.rows) == [colour] * 3, colour
        np.testing.assert_allclose(result.neighbours.scores, 1.0, atol=1e-3)


def test_the_api_and_the_cli_search_images_with_text(image_set, capsys):
    import explorer
    from explorer.cli import run

    got = explorer.load(image_set.library_id).neighbours(text="a magenta photo", k=3)
    assert colours_of(image_set, got.rows) == ["magenta"] * 3
    capsys.readouterr()
    assert run(["neighbours", image_set.library_id, "--text", "a red square", "-k", "3",
                "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["query"]["kind"] == "text"
    assert colours_of(image_set, [n["row"] for n in out["neighbours"]]) == ["red"] * 3


def test_a_set_from_an_image_model_alone_says_which_folder_would_take_text(tmp_path):
    lone = tmp_path / "vision"
    lone.mkdir()
    onnx.save(vision_model(), str(lone / "model.onnx"))
    result = encode_inputs([write_images(tmp_path / "images", per_colour=1)],
                           EncodeOptions(model=str(lone)))
    es = Library().open(result.entry.id)
    reason = nb.text_query_reason(es)
    assert "encodes images and has no text tower" in reason and "text_tower" in reason
    with pytest.raises(InputError, match="no text tower"):
        QuerySpec("text", expr="red").build(es, "cosine")


def test_a_pair_declared_with_its_own_file_names(tmp_path):
    folder = tmp_path / "clip"
    (folder / "image").mkdir(parents=True)
    (folder / "text").mkdir()
    onnx.save(vision_model(), str(folder / "image" / "v.onnx"))
    onnx.save(text_model(attention_mask=True), str(folder / "text" / "t.onnx"))
    write_pair(tmp_path / "files")  # borrow its tokenizer and processor
    (tmp_path / "files" / "tokenizer.json").rename(folder / "text" / "words.json")
    (tmp_path / "files" / "preprocessor_config.json").rename(folder / "preprocessor_config.json")
    (folder / "explorer-model.json").write_text(json.dumps({
        "file": "image/v.onnx", "text_tower": {"file": "text/t.onnx",
                                               "tokenizer": "text/words.json",
                                               "query_prefix": "a photo of ",
                                               "max_tokens": 6}}), encoding="utf-8")
    opened = open_model(folder)
    assert opened.model_file.name == "v.onnx" and opened.text_tower.model_file.name == "t.onnx"
    assert opened.text_tower.config.max_tokens == 6
    vector = set_model(model_label(opened))  # what a set made by it resolves to for text
    assert vector.model_file == opened.text_tower.model_file
    got = TextEncoder(opened).encode(["cyan"], kind="query")[0]
    np.testing.assert_allclose(got, unit(colour_vector(COLOURS["cyan"])), atol=1e-6)


# --- hostile and broken folders ----------------------------------------------------------

def test_a_text_model_swapped_after_encoding_is_refused_not_searched(tmp_path):
    """The set pins its text tower's sha256 beside the image model's: another text model in
    the folder would put typed text in another space and give noise, silently."""
    model = write_pair(tmp_path / "clip", layout="split")
    result = encode_inputs([write_images(tmp_path / "images")],
                           EncodeOptions(model=str(model), batch_size=5))
    es = Library().open(result.entry.id)
    assert ", text tower sha256 " in es.model and nb.text_query_reason(es) is None
    onnx.save(text_model(attention_mask=True), str(model / "text_model.onnx"))
    reason = nb.text_query_reason(es)
    assert reason is not None and "text_model.onnx" in reason and "not the one" in reason
    with pytest.raises(InputError, match="put back the text model"):
        set_model(es.model)


@pytest.mark.parametrize("tower, message", [
    ({"file": "../text_model.onnx"}, "text_tower.file must name a file inside the model folder"),
    ({"file": "/etc/passwd"}, "text_tower.file must name a file inside the model folder"),
    ({"file": "C:\\\\model.onnx"}, "text_tower.file must name a file inside the model folder"),
    ({"tokenizer": "sub/../../x.json"}, "text_tower.tokenizer must name a file inside"),
    ({"file": ["text_model.onnx"]}, "text_tower.file must be text, not a list"),
    ({"fil": "text_model.onnx"}, "text_tower holds an unknown setting 'fil'"),
    ({"modality": "text"}, "text_tower holds an unknown setting 'modality'"),
    ({"max_tokens": 0}, "text_tower.max_tokens must be a whole number"),
    ({"tokenizer": "nope.json"}, "text_tower.tokenizer names 'nope.json', which is not in"),
    ({"file": "missing.onnx"}, "text_tower.file names 'missing.onnx', which is not in"),
    ({"file": "onnx"}, "text_tower.file names 'onnx', which is not a file"),
    ({"file": "vision_model.onnx"}, "says 'text' but the model takes pixel_values"),
    ("text_model.onnx", "text_tower must be a JSON object, not the text"),
])
def test_bad_text_tower_settings_are_named(tmp_path, tower, message):
    folder = write_pair(tmp_path / "clip", config={"text_tower": tower})
    (folder / "onnx").mkdir()
    with pytest.raises(InputError, match=message) as info:
        open_model(folder)
    assert str(folder) in str(info.value)


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    onnx.save(text_model(), str(outside / "t.onnx"))
    folder = write_pair(tmp_path / "clip", config={"text_tower": {"file": "t.onnx"}})
    (folder / "t.onnx").symlink_to(outside / "t.onnx")
    with pytest.raises(InputError, match="'t.onnx', which leads outside the model folder"):
        open_model(folder)


def test_towers_of_different_widths_are_refused_naming_both(tmp_path):
    folder = write_pair(tmp_path / "clip", text_dim=4)
    with pytest.raises(InputError, match="the text tower text_model.onnx gives 4 dimensions but "
                                         "the image model vision_model.onnx gives 3") as info:
        open_model(folder)
    assert info.value.path.endswith("text_model.onnx")


def test_a_missing_tokenizer_is_named(tmp_path):
    folder = write_pair(tmp_path / "clip")
    (folder / "tokenizer.json").unlink()
    with pytest.raises(InputError, match="needs a tokenizer.json next to text_model.onnx"):
        open_model(folder)


def test_a_text_tower_without_a_file_to_find(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    onnx.save(vision_model(), str(folder / "model.onnx"))
    (folder / "explorer-model.json").write_text('{"text_tower": {}}', encoding="utf-8")
    with pytest.raises(InputError, match="no text_model.onnx beside model.onnx"):
        open_model(folder)


def test_a_text_tower_on_a_text_model_is_refused(tmp_path):
    from onnx_models import bert_like, write_folder

    folder = write_folder(tmp_path / "m", bert_like(), config={"text_tower": {}})
    with pytest.raises(InputError, match="text_tower belongs in an image model's settings"):
        open_model(folder)


def test_hash_caches_of_two_towers_do_not_evict_each_other(tmp_path):
    folder = open_model(write_pair(tmp_path / "clip"))
    caches = sorted(p.name for p in folder.path.glob(".explorer-hash*"))
    assert caches == [".explorer-hash-text_model.json", ".explorer-hash-vision_model.json"]
    again = open_model(folder.path)
    assert (again.sha256, again.text_tower.sha256) == (folder.sha256, folder.text_tower.sha256)


def test_an_installed_pair_is_listed_and_found_by_name(tmp_path):
    from explorer.compute.encoding.catalogue import list_models
    from explorer.compute.encoding.model_folder import models_dir

    installed = open_model(write_pair(models_dir() / "clip-tiny", layout="onnx"))
    assert model_label(installed).startswith("clip-tiny (sha256 ")
    (listed,) = list_models()
    assert (listed["name"], listed["modality"], listed["text_tower"]) == \
        ("clip-tiny", "image", True)
    assert listed["size"] == sum((installed.path / "onnx" / f).stat().st_size
                                 for f in ("vision_model.onnx", "text_model.onnx"))
    assert set_model(model_label(installed)).output == "text_embeds"


def test_a_fifo_where_a_settings_file_belongs_does_not_block(tmp_path):
    folder = write_pair(tmp_path / "clip")
    for name in ("tokenizer_config.json", "preprocessor_config.json"):
        (folder / name).unlink()
        os.mkfifo(folder / name)
    opened = open_model(folder)  # would hang reading a FIFO; the pytest timeout would say so
    assert opened.text_tower.config.max_tokens == 512  # no limit found: the default


def test_a_text_longer_than_the_tower_takes_is_an_error_naming_max_tokens(tmp_path):
    """Without tokenizer_config.json the limit is unknown (512 is assumed); the graph's own
    limit then fails inside onnxruntime, which must reach the user as a message, not a
    traceback, and a set max_tokens cures it."""
    folder = write_pair(tmp_path / "clip")
    (folder / "tokenizer_config.json").unlink()
    long = " ".join(["red"] * (MAX_TOKENS + 4))
    with pytest.raises(InputError, match="max_tokens") as info:
        TextEncoder(folder).encode([long])
    assert info.value.path == str(folder / "text_model.onnx")
    (folder / "explorer-model.json").write_text(json.dumps(
        {"text_tower": {"max_tokens": MAX_TOKENS}}), encoding="utf-8")
    got = TextEncoder(folder).encode([long])
    np.testing.assert_allclose(got[0], unit(colour_vector(COLOURS["red"])), atol=1e-6)


def test_an_image_size_the_graph_cannot_take_is_an_error_naming_the_model(tmp_path):
    """A graph that leaves its size open but only works at one (a flatten into a fixed
    matrix): the default 224 fails inside onnxruntime, and the message says what to set."""
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.ones((3 * SIZE * SIZE, 3), np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("Flatten", ["pixel_values"], ["flat"], axis=1),
         helper.make_node("MatMul", ["flat", "W"], ["image_embeds"])], "open_size",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT,
                                       ["batch", 3, "height", "width"])],
        [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", 3])],
        [weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder = tmp_path / "open"
    folder.mkdir()
    onnx.save(model, str(folder / "model.onnx"))
    image = colour_image((1, 0, 0), (30, 30))
    with pytest.raises(InputError, match="cannot run on 1 image.s. of 224 x 224 pixels") as info:
        ImageEncoder(folder).encode([image])
    assert info.value.path == str(folder / "model.onnx") and "image_size" in info.value.hint
    (folder / "explorer-model.json").write_text(json.dumps({"image_size": SIZE}))
    assert ImageEncoder(folder).encode([image]).shape == (1, 3)


def test_a_vision_model_without_projection_gives_its_pooled_output(tmp_path):
    """optimum's export of a CLIP vision model alone: last_hidden_state and pooler_output
    (no image_embeds). The pooled one is taken; with a text tower its width would have to
    match the text space, which a projection-less tower's does not."""
    from onnx import TensorProto, helper

    base = vision_model()
    graph = base.graph
    nodes = [n for n in graph.node if n.output[0] != "image_embeds"] + [
        helper.make_node("Identity", ["centred"], ["pooler_output"])]
    outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                             ["batch", 1, 3, "h", "w"]),
               helper.make_tensor_value_info("pooler_output", TensorProto.FLOAT, ["batch", 3])]
    model = helper.make_model(helper.make_graph(nodes, "vision_only", list(graph.input), outputs,
                                                list(graph.initializer)),
                              opset_imports=list(base.opset_import))
    model.ir_version = 8
    folder = tmp_path / "vision"
    folder.mkdir()
    onnx.save(model, str(folder / "model.onnx"))
    opened = open_model(folder)
    assert (opened.output, opened.config.pooling, opened.dim) == ("pooler_output", "none", 3)
