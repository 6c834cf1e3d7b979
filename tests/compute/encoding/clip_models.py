"""Tiny CLIP-style model pairs built with the `onnx` helper API, whose two towers share a space.

Colour is the shared meaning. The image tower undoes the processor's normalisation
with CLIP's own mean and std (baked into the graph), averages each channel and
centres it: a pure red image becomes (0.5, -0.5, -0.5). The text tower sums a
word table over the text, where each colour word sits at the centred corner of its
colour and every other word at zero: "a red square" is (0.5, -0.5, -0.5) as well.
So a typed colour provably ranks the images of that colour first, and only if the
images were fed with CLIP's mean and std (ImageNet's shift every vector a little,
which the tests see).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from onnx_models import checked_model, int_input

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
COLOURS = {"red": (1, 0, 0), "green": (0, 1, 0), "blue": (0, 0, 1), "yellow": (1, 1, 0),
           "cyan": (0, 1, 1), "magenta": (1, 0, 1), "white": (1, 1, 1), "black": (0, 0, 0)}
VOCAB = ["<|endoftext|>", "<unk>", "a", "photo", "of", "square", "the", *COLOURS]
SIZE = 16  # the towers' image size, as a CLIP export fixes it (224 there)
MAX_TOKENS = 8  # the text tower's longest input, given by tokenizer_config.json only


def colour_vector(rgb) -> np.ndarray:
    return np.asarray(rgb, np.float32) - 0.5


def _image_part(dim: int) -> tuple[list, dict]:
    """pixel_values -> image_embeds [batch, dim]: CLIP-unnormalised channel means, centred."""
    project = np.zeros((3, dim), np.float32)
    project[:3, :3] = np.eye(3)
    init = {"std": np.asarray(CLIP_STD, np.float32).reshape(1, 3, 1, 1),
            "mean": np.asarray(CLIP_MEAN, np.float32).reshape(1, 3, 1, 1),
            "half": np.array(0.5, np.float32), "P": project}
    nodes = [helper.make_node("Mul", ["pixel_values", "std"], ["scaled"]),
             helper.make_node("Add", ["scaled", "mean"], ["rgb"]),
             helper.make_node("ReduceMean", ["rgb"], ["avg"], axes=[2, 3], keepdims=0),
             helper.make_node("Sub", ["avg", "half"], ["centred"]),
             helper.make_node("MatMul", ["centred", "P"], ["image_embeds"])]
    return nodes, init


def _text_part(dim: int, attention_mask: bool) -> tuple[list, dict]:
    """input_ids (+ attention_mask) -> text_embeds [batch, dim]: the words' table rows summed.

    Like CLIP's, the text tower has a table of MAX_TOKENS positions (zeros here), so a longer
    input fails inside the graph: the token limit must be found and kept.
    """
    table = np.zeros((len(VOCAB), dim), np.float32)
    for word, rgb in COLOURS.items():
        table[VOCAB.index(word), :3] = colour_vector(rgb)
    if dim > 3:
        table[:, 3:] = 0.01  # an extra width the image tower does not have
    init = {"E": table, "axis1": np.array([1], np.int64), "axis2": np.array([2], np.int64),
            "Pos": np.zeros((MAX_TOKENS, dim), np.float32), "one": np.array(1, np.int64),
            "zero": np.array(0, np.int64)}
    nodes = [helper.make_node("Gather", ["E", "input_ids"], ["tokens"]),
             helper.make_node("Shape", ["input_ids"], ["ids_shape"]),
             helper.make_node("Gather", ["ids_shape", "one"], ["seq"]),
             helper.make_node("Range", ["zero", "seq", "one"], ["positions"]),
             helper.make_node("Gather", ["Pos", "positions"], ["pos"]),
             helper.make_node("Add", ["tokens", "pos"], ["emb"])]
    if attention_mask:
        nodes += [helper.make_node("Cast", ["attention_mask"], ["mf"], to=TensorProto.FLOAT),
                  helper.make_node("Unsqueeze", ["mf", "axis2"], ["m3"]),
                  helper.make_node("Mul", ["emb", "m3"], ["kept"])]
    else:
        nodes.append(helper.make_node("Identity", ["emb"], ["kept"]))
    nodes.append(helper.make_node("ReduceSum", ["kept", "axis1"], ["text_embeds"], keepdims=0))
    return nodes, init


def _pixels(size: int | None) -> onnx.ValueInfoProto:
    shape = ["batch", 3, size, size] if size else ["batch", 3, "height", "width"]
    return helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, shape)


def _hidden(name: str) -> onnx.ValueInfoProto:
    """A second output, as real exports carry (last_hidden_state), that must not be picked."""
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", "seq", "hidden"])


def vision_model(dim: int = 3, size: int | None = SIZE) -> onnx.ModelProto:
    nodes, init = _image_part(dim)
    nodes.append(helper.make_node("Unsqueeze", ["rgb", "axis1"], ["last_hidden_state"]))
    init["axis1"] = np.array([1], np.int64)
    out = helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", dim])
    hidden = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT,
                                           ["batch", 1, 3, "h", "w"])
    return checked_model(nodes, [_pixels(size)], [out, hidden], init)


def text_model(dim: int = 3, attention_mask: bool = False) -> onnx.ModelProto:
    """Like transformers.js' text_model.onnx: input_ids (only, by default) -> text_embeds."""
    nodes, init = _text_part(dim, attention_mask)
    nodes.append(helper.make_node("Identity", ["emb"], ["last_hidden_state"]))
    inputs = [int_input("input_ids")] + ([int_input("attention_mask")] if attention_mask else [])
    out = helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", dim])
    return checked_model(nodes, inputs, [out, _hidden("last_hidden_state")], init)


def one_graph_model(dim: int = 3) -> onnx.ModelProto:
    """Like `optimum-cli export onnx` of a CLIP: both towers in one model.onnx, and the
    logits between every image and every text."""
    image_nodes, image_init = _image_part(dim)
    text_nodes, text_init = _text_part(dim, attention_mask=True)
    nodes = image_nodes + text_nodes + [
        helper.make_node("Transpose", ["text_embeds"], ["text_t"], perm=[1, 0]),
        helper.make_node("MatMul", ["image_embeds", "text_t"], ["logits_per_image"]),
        helper.make_node("Transpose", ["logits_per_image"], ["logits_per_text"], perm=[1, 0])]
    inputs = [int_input("input_ids"), _pixels(SIZE), int_input("attention_mask")]
    outputs = [helper.make_tensor_value_info("logits_per_image", TensorProto.FLOAT,
                                             ["image_batch", "text_batch"]),
               helper.make_tensor_value_info("logits_per_text", TensorProto.FLOAT,
                                             ["text_batch", "image_batch"]),
               helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT,
                                             ["text_batch", dim]),
               helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT,
                                             ["image_batch", dim])]
    return checked_model(nodes, inputs, outputs, {**image_init, **text_init})


def write_tokenizer(folder: Path, name: str = "tokenizer.json") -> None:
    """A word-level tokenizer with no truncation of its own (as CLIP's tokenizer.json), and the
    tokenizer_config.json that gives the text tower's limit."""
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(VOCAB)}, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.save(str(folder / name))
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"model_max_length": MAX_TOKENS}), encoding="utf-8")


def write_preprocessor(folder: Path, **changes) -> None:
    """preprocessor_config.json as a CLIP export carries it (sizes scaled down to SIZE)."""
    config = {"crop_size": {"height": SIZE, "width": SIZE}, "do_center_crop": True,
              "do_convert_rgb": True, "do_normalize": True, "do_rescale": True,
              "do_resize": True, "image_mean": list(CLIP_MEAN),
              "image_processor_type": "CLIPImageProcessor", "image_std": list(CLIP_STD),
              "resample": 3, "rescale_factor": 0.00392156862745098,
              "size": {"shortest_edge": SIZE}}
    config.update(changes)
    (folder / "preprocessor_config.json").write_text(json.dumps(config), encoding="utf-8")


def write_pair(folder: Path, *, layout: str = "split", config: dict | None = None,
               text_dim: int = 3) -> Path:
    """A CLIP-style model folder. `layout`: "split" (vision_model.onnx + text_model.onnx, as
    transformers.js exports), "onnx" (the same under onnx/), or "one" (optimum's model.onnx)."""
    folder.mkdir(parents=True, exist_ok=True)
    if layout == "one":
        onnx.save(one_graph_model(), str(folder / "model.onnx"))
    else:
        where = folder / "onnx" if layout == "onnx" else folder
        where.mkdir(exist_ok=True)
        onnx.save(vision_model(), str(where / "vision_model.onnx"))
        onnx.save(text_model(text_dim), str(where / "text_model.onnx"))
    write_tokenizer(folder)
    write_preprocessor(folder)
    if config is not None:
        (folder / "explorer-model.json").write_text(json.dumps(config), encoding="utf-8")
    return folder
