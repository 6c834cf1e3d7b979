"""Tiny real ONNX models built with the `onnx` helper API, and a tokenizer.json to go with them.

The text model is "BERT-like" in its interface (input_ids, attention_mask,
token_type_ids -> last_hidden_state [batch, tokens, dim]) and, like attention,
mixes a masked mean of the whole text into every token, so results depend on
the mask being fed right and pad positions carry non-zero values that pooling
must leave out.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

OPSET = 17
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "a", "cat", "dog", "sat", "on", "mat",
         "runs", "fast", "slow", "red", "blue", "query:", "passage:", "nan"]
CLS, SEP = VOCAB.index("[CLS]"), VOCAB.index("[SEP]")
PUBLISHED_PADDING = 128  # the tokenizer.json pads every input to this, as many published ones do
TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def write_tokenizer(path: Path) -> Path:
    """A WordLevel tokenizer with [CLS] ... [SEP] and fixed padding to 128 (to be turned off)."""
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(VOCAB)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS), ("[SEP]", SEP)])
    tok.enable_padding(pad_id=0, pad_token="[PAD]", length=PUBLISHED_PADDING)
    tok.enable_truncation(max_length=PUBLISHED_PADDING)
    tok.save(str(path))
    return path


def _weights(dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    table = rng.normal(size=(len(VOCAB), dim)).astype(np.float32)
    table[VOCAB.index("nan")] = np.nan
    types = rng.normal(size=(2, dim)).astype(np.float32)
    return table, types


def checked_model(nodes, inputs, outputs, initializers) -> onnx.ModelProto:
    """A graph of `nodes` as a model onnxruntime loads, checked by onnx before any test uses it."""
    graph = helper.make_graph(nodes, "tiny", inputs, outputs,
                              [numpy_helper.from_array(v, k) for k, v in initializers.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def int_input(name: str) -> onnx.ValueInfoProto:
    """A token input [batch, seq] of int64, as tokenizers feed a text model."""
    return helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])


def bert_like(dim: int = 8, *, inputs: tuple[str, ...] = TEXT_INPUTS,
              output: str = "last_hidden_state", seed: int = 0) -> onnx.ModelProto:
    """last_hidden_state = E[ids] + T[types] + (masked mean of E[ids] over the text).

    Without attention_mask the mean covers every position, padding included, as a
    real model without a mask would. Extra names in `inputs` become unused inputs.
    """
    table, types = _weights(dim, seed)
    init = {"E": table, "T": types, "axis1": np.array([1], np.int64),
            "axis2": np.array([2], np.int64)}
    nodes = [helper.make_node("Gather", ["E", "input_ids"], ["emb"])]
    if "attention_mask" in inputs:
        nodes += [
            helper.make_node("Cast", ["attention_mask"], ["mf"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["mf", "axis2"], ["m3"]),
            helper.make_node("Mul", ["emb", "m3"], ["weighted"]),
            helper.make_node("ReduceSum", ["weighted", "axis1"], ["num"], keepdims=1),
            helper.make_node("ReduceSum", ["m3", "axis1"], ["den"], keepdims=1),
            helper.make_node("Div", ["num", "den"], ["ctx"]),
        ]
    else:
        nodes.append(helper.make_node("ReduceMean", ["emb"], ["ctx"], axes=[1], keepdims=1))
    if "token_type_ids" in inputs:
        nodes += [helper.make_node("Gather", ["T", "token_type_ids"], ["tt"]),
                  helper.make_node("Add", ["emb", "tt"], ["h0"])]
    else:
        nodes.append(helper.make_node("Identity", ["emb"], ["h0"]))
    nodes.append(helper.make_node("Add", ["h0", "ctx"], [output]))
    out = helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", "seq", dim])
    return checked_model(nodes, [int_input(n) for n in inputs], [out], init)


def retyped(model: onnx.ModelProto, name: str, to: int, shape: list) -> onnx.ModelProto:
    """The model with its output cast (or reshaped by `shape` axes added) into `name`."""
    graph = model.graph
    old = graph.output[0].name
    nodes = list(graph.node)
    if len(shape) == 4:
        nodes.append(helper.make_node("Unsqueeze", [old, "axis2"], ["u"]))
        old = "u"
    nodes.append(helper.make_node("Cast", [old], [name], to=to))
    out = helper.make_tensor_value_info(name, to, shape)
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    return checked_model(nodes, list(graph.input), [out], init)


def pooled_text(dim: int = 8, seed: int = 1, output: str = "sentence_embedding",
                open_width: bool = False) -> onnx.ModelProto:
    """A model that already pools: [batch, dim] = 3 x the masked mean of E[ids].

    With `open_width` the output goes through Shape + Reshape, which hides its
    width from shape inference, as some exporters' graphs do.
    """
    table, _ = _weights(dim, seed)
    init = {"E": table, "axis1": np.array([1], np.int64), "axis2": np.array([2], np.int64),
            "three": np.array(3.0, np.float32)}
    nodes = [
        helper.make_node("Gather", ["E", "input_ids"], ["emb"]),
        helper.make_node("Cast", ["attention_mask"], ["mf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mf", "axis2"], ["m3"]),
        helper.make_node("Mul", ["emb", "m3"], ["weighted"]),
        helper.make_node("ReduceSum", ["weighted", "axis1"], ["num"], keepdims=0),
        helper.make_node("ReduceSum", ["m3", "axis1"], ["den"], keepdims=0),
        helper.make_node("Div", ["num", "den"], ["mean"]),
        helper.make_node("Mul", ["mean", "three"], ["scaled" if open_width else output]),
    ]
    if open_width:
        nodes += [helper.make_node("Shape", ["scaled"], ["shape"]),
                  helper.make_node("Reshape", ["scaled", "shape"], [output])]
    out = helper.make_tensor_value_info(output, TensorProto.FLOAT,
                                        ["batch", "dim" if open_width else dim])
    return checked_model(nodes, [int_input("input_ids"), int_input("attention_mask")], [out], init)


def two_outputs(dim: int = 8) -> onnx.ModelProto:
    """Outputs named so that neither is recognisable as the embedding."""
    model = pooled_text(dim, output="a")
    graph = model.graph
    nodes = list(graph.node) + [helper.make_node("Identity", ["a"], ["b"])]
    outs = list(graph.output) + [helper.make_tensor_value_info("b", TensorProto.FLOAT,
                                                               ["batch", dim])]
    init = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    return checked_model(nodes, list(graph.input), outs, init)


def image_model(size: int | None = 8, dim: int = 6, seed: int = 2,
                extra_text_input: bool = False) -> onnx.ModelProto:
    """pixel_values [batch, 3, size, size] -> image_embeds [batch, dim].

    A fixed size flattens every pixel through one matrix (so every pixel
    matters); an open size (None) averages each channel first.
    """
    rng = np.random.default_rng(seed)
    if size is None:
        init = {"W": rng.normal(size=(3, dim)).astype(np.float32)}
        nodes = [helper.make_node("ReduceMean", ["pixel_values"], ["flat"], axes=[2, 3],
                                  keepdims=0)]
        shape = ["batch", 3, "height", "width"]
    else:
        init = {"W": rng.normal(size=(3 * size * size, dim)).astype(np.float32)}
        nodes = [helper.make_node("Flatten", ["pixel_values"], ["flat"], axis=1)]
        shape = ["batch", 3, size, size]
    nodes.append(helper.make_node("MatMul", ["flat", "W"], ["image_embeds"]))
    inputs = [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, shape)]
    if extra_text_input:
        inputs.append(int_input("input_ids"))
    out = helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", dim])
    return checked_model(nodes, inputs, [out], init)


def write_folder(folder: Path, model: onnx.ModelProto, *, tokenizer: bool = True,
                 config: dict | None = None) -> Path:
    """A model folder: model.onnx, tokenizer.json (optional) and explorer-model.json (if given)."""
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(folder / "model.onnx"))
    if tokenizer:
        write_tokenizer(folder / "tokenizer.json")
    if config is not None:
        (folder / "explorer-model.json").write_text(json.dumps(config), encoding="utf-8")
    return folder
