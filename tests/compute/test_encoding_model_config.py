"""A model folder is untrusted input: every setting, the hash cache and the graph are checked."""

from __future__ import annotations

import dataclasses
import json
import os

import onnx
import pytest
from onnx import TensorProto, helper
from onnx.external_data_helper import convert_model_to_external_data

from explorer.compute.encoding.model_config import FIELDS, MAX_CONFIG_BYTES, ModelConfig
from explorer.compute.encoding.model_folder import open_model
from explorer.compute.encoding.text_encoder import TextEncoder
from explorer.core.errors import InputError
from onnx_models import bert_like, image_model, pooled_text, write_folder, write_tokenizer


def open_with(tmp_path, config_text: str, model=None):
    """Open a tiny text model whose explorer-model.json holds exactly `config_text`."""
    folder = write_folder(tmp_path / "m", model or bert_like())
    (folder / "explorer-model.json").write_text(config_text, encoding="utf-8")
    return open_model(folder)


def test_every_setting_has_a_check():
    assert set(FIELDS) == {f.name for f in dataclasses.fields(ModelConfig)}


@pytest.mark.parametrize("key", sorted(FIELDS))
@pytest.mark.parametrize("value", [["a"], {"a": 1}, "x" * 2000, 10 ** 30],
                         ids=["list", "object", "long text", "huge number"])
def test_a_wrong_type_or_size_in_any_field_is_named(tmp_path, key, value):
    if key == "provenance" and isinstance(value, dict):
        return  # an object is what provenance holds
    with pytest.raises(InputError) as info:
        open_with(tmp_path, json.dumps({key: value}))
    assert info.value.message.startswith(key + " ")
    assert info.value.path == str(tmp_path / "m" / "explorer-model.json")


@pytest.mark.parametrize("config, message", [
    ({"output": ["sentence_embedding"]}, "output must be text, not a list"),
    ({"output": {"name": "x"}}, "output must be text, not an object"),
    ({"output": ""}, "output must not be empty"),
    ({"normalise": "yes"}, "normalise must be true or false, not the text 'yes'"),
    ({"max_tokens": 10 ** 9}, "max_tokens must be a whole number from 1 to 131,072"),
    ({"max_tokens": 12.0}, "max_tokens must be a whole number"),
    ({"max_tokens": True}, "max_tokens must be a whole number"),
    ({"image_size": 100_000}, "image_size must be a whole number from 1 to 2,048"),
    ({"dim": 10 ** 12}, "dim must be a whole number from 1 to 65,536, not the number"),
    ({"image_mean": [0.5, 0.5]}, "image_mean must be a list of three numbers"),
    ({"image_mean": [0.5, 0.5, 1e300]}, "image_mean must be a list of three numbers"),
    ({"image_std": [0.5, 0.5, 0]}, "image_std must be a list of three numbers .R, G, B. from"),
    ({"query_prefix": None}, "query_prefix must be text, not null"),
    ({"query_prefix": "\ud800"}, "query_prefix holds an invalid character"),
    ({"crop": None}, "crop must be one of center, resize, not null"),
    ({"provenance": []}, "provenance must be a JSON object, not a list"),
])
def test_bad_values_are_named(tmp_path, config, message):
    with pytest.raises(InputError, match=message):
        open_with(tmp_path, json.dumps(config))


@pytest.mark.parametrize("text, message", [
    ("[]", "must be a JSON object, not a list"),
    ('"text"', "must be a JSON object, not the text 'text'"),
    ('{"image_mean": [NaN, 0, 0]}', "NaN is not a number the settings may hold"),
    ('{"dim": Infinity}', "Infinity is not a number"),
    ('{"dim": ' + "9" * 5000 + "}", "cannot read the model settings"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply|cannot read"),
    ("{nope", "cannot read the model settings"),
    (" " * (MAX_CONFIG_BYTES + 1), "larger than 1024 kB"),
])
def test_a_file_that_is_not_settings_is_refused(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        open_with(tmp_path, text)


def test_settings_that_are_not_a_file_or_not_text_are_refused(tmp_path):
    folder = write_folder(tmp_path / "m", bert_like())
    (folder / "explorer-model.json").mkdir()
    with pytest.raises(InputError, match="not a regular file"):
        open_model(folder)
    (folder / "explorer-model.json").rmdir()
    (folder / "explorer-model.json").write_bytes(b'{"query_prefix": "\xff"}')
    with pytest.raises(InputError, match="not UTF-8 text"):
        open_model(folder)


def test_good_settings_still_open(tmp_path):
    folder = open_with(tmp_path, json.dumps({
        "modality": "text", "pooling": "cls", "normalise": False, "max_tokens": 16,
        "query_prefix": "query: ", "document_prefix": "", "output": "last_hidden_state",
        "dim": 8, "provenance": {"source": "a test"}, "crop": "resize"}))
    assert folder.config.pooling == "cls" and folder.config.max_tokens == 16
    assert folder.config.provenance == {"source": "a test"}


def test_a_graph_asking_for_huge_arrays_is_refused(tmp_path):
    wide = pooled_text(dim=5, open_width=True)  # the graph itself cannot tell its width
    wide.graph.output[0].CopyFrom(helper.make_tensor_value_info(
        "sentence_embedding", TensorProto.FLOAT, ["batch", 10 ** 6]))
    with pytest.raises(InputError, match="is 1,000,000 wide; at most 65,536"):
        open_model(write_folder(tmp_path / "wide", wide))
    big = image_model(size=None)
    big.graph.input[0].CopyFrom(helper.make_tensor_value_info(
        "pixel_values", TensorProto.FLOAT, ["batch", 3, 100_000, 100_000]))
    with pytest.raises(InputError, match="takes 100,000-pixel images; at most 2,048"):
        open_model(write_folder(tmp_path / "big", big, tokenizer=False))


def test_a_tokenizer_limit_of_billions_is_not_used(tmp_path):
    folder = write_folder(tmp_path / "m", bert_like())
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    tokenizer["truncation"]["max_length"] = 2 ** 60
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))
    opened = open_model(folder)
    assert opened.config.max_tokens == 512
    assert TextEncoder(opened).encode(["the cat sat"]).shape == (1, 8)


@pytest.mark.parametrize("cache", ["[]", '{"sha256": ["x"]}', '{"sha256": "short"}', "\xff"])
def test_a_hash_cache_we_did_not_write_is_ignored(tmp_path, cache):
    folder = write_folder(tmp_path / "m", bert_like())
    real = open_model(folder).sha256
    (folder / ".explorer-hash.json").write_text(cache, encoding="latin-1")
    assert open_model(folder).sha256 == real


def test_a_hash_cache_that_is_a_fifo_does_not_block(tmp_path):
    folder = write_folder(tmp_path / "m", bert_like())
    os.mkfifo(folder / ".explorer-hash.json")
    assert len(open_model(folder).sha256) == 64


@pytest.mark.parametrize("location", ["../outside.bin", "/etc/passwd", "inside/../../outside.bin",
                                      "link.bin"])
def test_weights_outside_the_folder_are_refused(tmp_path, location):
    """onnxruntime refuses external data that escapes the folder (symlinks too); keep it so."""
    folder = tmp_path / "m"
    folder.mkdir()
    model = bert_like(dim=64)
    convert_model_to_external_data(model, all_tensors_to_one_file=True, location="data.bin",
                                   size_threshold=256)
    onnx.save(model, str(folder / "model.onnx"))
    (folder / "data.bin").rename(tmp_path / "outside.bin")
    (folder / "link.bin").symlink_to(tmp_path / "outside.bin")
    saved = onnx.load(str(folder / "model.onnx"), load_external_data=False)
    for tensor in saved.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(saved, str(folder / "model.onnx"))
    write_tokenizer(folder / "tokenizer.json")
    with pytest.raises(InputError, match="onnxruntime cannot load the model.*"
                                         "(escapes model directory|Absolute path)"):
        open_model(folder)
