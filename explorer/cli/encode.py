"""Subcommands about ONNX encoding: encode (files into a library set) and models."""

from __future__ import annotations

import argparse

from explorer.cli.command import (Command, add_engine_arguments, add_json, check_engine,
                                  check_name, progress)
from explorer.core.errors import InputError

def add_encode_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", help="text files, folders, a table "
                                                  "(CSV/Parquet/JSONL) or images")
    parser.add_argument("--model", default="minilm", help="a model folder or an installed "
                                                          "model's name (default: minilm)")
    parser.add_argument("--column", metavar="C", help="the text column of a table input")
    parser.add_argument("--pattern", metavar="GLOB",
                        help="files to take from folders, e.g. '*.md'")
    parser.add_argument("--chunk-tokens", type=int, default=200, metavar="N",
                        help="text files are cut into chunks of about N tokens")
    parser.add_argument("--overlap-tokens", type=int, default=30, metavar="N")
    parser.add_argument("--batch-size", type=int, default=64, metavar="N")
    parser.add_argument("--out", metavar="NAME", help="the new set's name in the library")
    add_engine_arguments(parser, "local: this process (default); ray: a Ray cluster, or a "
                                 "local Ray when no address is given (needs the cluster extra)",
                         "with --engine ray: Ray actors to encode with (default: every CPU "
                         "Ray has)")
    parser.add_argument("--shards-out", metavar="DIR",
                        help="with --engine ray: keep the vectors as Parquet shards in this new "
                             "or empty folder (shared storage on a cluster), registered as a "
                             "sharded set; default: one file in the library")
    add_json(parser)


def run_encode(args: argparse.Namespace) -> dict:
    from explorer.compute.cluster.encode_ray import Engine, encode_with
    from explorer.compute.encoding.pipeline import EncodeOptions
    from explorer.core.errors import DISK_FULL, storage_error
    from explorer.core.library import LIBRARY_FOLDER, Library

    for name, value in (("--chunk-tokens", args.chunk_tokens), ("--batch-size", args.batch_size)):
        if value < 1:
            raise InputError(f"{name} must be at least 1, got {value}")
    check_engine(args, ray_only=("shards_out",))  # before the model is opened or anything read
    if args.shards_out is not None:
        from explorer.compute.cluster.encode_ray import check_shards_out

        check_shards_out(args.shards_out)  # before the encoding, not after it
    if not 0 <= args.overlap_tokens < args.chunk_tokens:
        raise InputError("--overlap-tokens must be at least 0 and less than --chunk-tokens")
    check_name("--out", args.out)
    library = Library()
    if args.out is not None:
        library.check_name(args.out)  # before the encoding, not after it
    options = EncodeOptions(model=args.model, column=args.column, pattern=args.pattern,
                            chunk_tokens=args.chunk_tokens, overlap_tokens=args.overlap_tokens,
                            batch_size=args.batch_size, name=args.out)
    library.check_writable()  # before the encoding, not after it
    try:
        result = encode_with(Engine(args.engine, args.ray_address, args.workers,
                                    args.shards_out), args.inputs,
                             options, library, progress(args)).to_dict()
        # the local engine's answer has the same fields: scripts read one shape
        return {"engine": "local", "workers": None, "units": None, "resumed_units": None,
                "ray_address": None, **result}
    except OSError as exc:  # every write of an encoding goes into the library folder
        if exc.errno not in DISK_FULL:
            raise
        raise storage_error(exc, library.root, LIBRARY_FOLDER) from None


def add_models_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("list", "install"))
    parser.add_argument("name", nargs="?", help="for install: the model to install (minilm)")
    add_json(parser)


def run_models(args: argparse.Namespace) -> dict:
    from explorer.compute.encoding import catalogue

    if args.action == "install":
        if not args.name:
            raise InputError("models install: name the model to install (minilm)")
        folder = catalogue.install_model(args.name)
        return {"installed": folder.name, "path": str(folder.path), "dim": folder.dim}
    return {"models": catalogue.list_models()}


ENCODE = Command("encode", "encode files with an ONNX model into a library set",
                 add_encode_arguments, run_encode)
MODELS = Command("models", "install or list the ONNX models encode can use",
                 add_models_arguments, run_models)
