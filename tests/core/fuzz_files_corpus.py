"""Valid files of every format the loaders read: the starting points of the file fuzzing.

Small (ROWS x DIM) so that mutations reach past the sniffers' 4 KB head; used by
fuzz_files_mutations (what a case does to them) and fuzz_files_harness (running cases).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROWS, DIM = 40, 12  # text files of 5-7 KB: mutations past the 4 KB head get past the sniffers


# --- valid files -------------------------------------------------------------------

def _vectors() -> np.ndarray:
    return np.random.default_rng(14).standard_normal((ROWS, DIM)).astype(np.float32)


def _words() -> list[str]:
    return [f"w{i}" for i in range(ROWS)]


def _table():
    import pyarrow as pa

    v = _vectors()
    return pa.table({"id": pa.array(range(ROWS), pa.int64()), "text": _words(),
                     "embedding": pa.array(v.tolist(), pa.list_(pa.float32()))})


def _write_npy(path: Path) -> None:
    np.save(path, _vectors())


def _write_npz(path: Path) -> None:
    with open(path, "wb") as fh:  # np.savez would append .npz to a name without it
        np.savez(fh, embeddings=_vectors(), ids=np.arange(ROWS, dtype=np.int64),
                 labels=np.array(_words()))


def _write_npz_compressed(path: Path) -> None:
    with open(path, "wb") as fh:
        np.savez_compressed(fh, embeddings=_vectors(), ids=np.arange(ROWS, dtype=np.int64))


def _write_vecs(path: Path) -> None:
    v = _vectors()
    rows = {".fvecs": v.astype("<f4"), ".ivecs": (v * 100).astype("<i4"),
            ".bvecs": ((v - v.min()) * 30).astype(np.uint8)}[path.suffix]
    with open(path, "wb") as fh:
        for row in rows:
            fh.write(struct.pack("<i", DIM) + row.tobytes())


def _word_lines() -> list[str]:
    return [w + " " + " ".join(f"{x:.6f}" for x in row) for w, row in zip(_words(), _vectors())]


def _write_word2vec_text(path: Path) -> None:
    path.write_text(f"{ROWS} {DIM}\n" + "\n".join(_word_lines()) + "\n", encoding="utf-8")


def _write_glove(path: Path) -> None:
    path.write_text("\n".join(_word_lines()) + "\n", encoding="utf-8")


def _write_word2vec_bin(path: Path) -> None:
    with open(path, "wb") as fh:
        fh.write(f"{ROWS} {DIM}\n".encode())
        for w, row in zip(_words(), _vectors()):
            fh.write(w.encode() + b" " + row.astype("<f4").tobytes() + b"\n")


def _write_csv(path: Path) -> None:
    head = "id,text," + ",".join(f"d{i}" for i in range(DIM))
    rows = [f'{i},"word {i}",' + ",".join(f"{x:.6f}" for x in row)
            for i, row in enumerate(_vectors())]
    path.write_text(head + "\n" + "\n".join(rows) + "\n", encoding="utf-8")


def _write_tsv(path: Path) -> None:  # the Projector's headerless vectors.tsv
    path.write_text("\n".join("\t".join(f"{x:.6f}" for x in row) for row in _vectors()) + "\n",
                    encoding="utf-8")


def _write_jsonl(path: Path) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i, (w, row) in enumerate(zip(_words(), _vectors())):
            fh.write(json.dumps({"id": i, "text": w,
                                 "embedding": [round(float(x), 6) for x in row]}) + "\n")


def _write_parquet(path: Path) -> None:
    import pyarrow.parquet as pq

    pq.write_table(_table(), path, row_group_size=ROWS // 3)


def _write_parquet_plain(path: Path) -> None:  # damage reaches the decoders, not snappy
    import pyarrow.parquet as pq

    pq.write_table(_table(), path, row_group_size=ROWS // 3, compression="none")


def _write_arrow(path: Path) -> None:
    import pyarrow.feather as feather

    feather.write_feather(_table(), path, compression="uncompressed")


def _write_arrow_stream(path: Path) -> None:
    import pyarrow.ipc as ipc

    table = _table()
    with open(path, "wb") as fh, ipc.new_stream(fh, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=ROWS // 2):
            writer.write_batch(batch)


def _write_hdf5(path: Path) -> None:
    import h5py

    v = _vectors()
    with h5py.File(path, "w") as fh:  # the ann-benchmarks layout
        fh.attrs["distance"] = "angular"
        fh["train"] = v
        fh["test"] = v[:4]
        fh["neighbors"] = np.zeros((4, 3), np.int32)


def _write_safetensors(path: Path) -> None:
    """Written by hand after the format's spec, so that the `safetensors` package is not needed."""
    tensors = {"embeddings": ("F32", _vectors().astype("<f4")),
               "ids": ("I64", np.arange(ROWS, dtype="<i8"))}
    header, data, offset = {"__metadata__": {"source": "fuzz"}}, b"", 0
    for name, (dtype, arr) in tensors.items():
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        data += raw
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


@dataclass(frozen=True)
class Kind:
    """A valid file of one format (or one variant of it): the loader that reads it, its name."""

    name: str
    format: str  # the loader (explorer.core.loaders.formats()) that reads it
    filename: str
    write: object
    text: bool = False  # a text format: mutations() weighs text-keeping operations more
    zip: bool = False  # a zip archive: mutations() also mutates members and zips them again


KINDS = {k.name: k for k in [
    Kind("npy", "npy", "vectors.npy", _write_npy),
    Kind("npz", "npz", "arrays.npz", _write_npz, zip=True),
    Kind("npz-compressed", "npz", "arrays.npz", _write_npz_compressed, zip=True),
    Kind("fvecs", "fvecs", "base.fvecs", _write_vecs),
    Kind("bvecs", "fvecs", "base.bvecs", _write_vecs),
    Kind("ivecs", "fvecs", "base.ivecs", _write_vecs),
    Kind("word2vec-text", "word2vec-text", "words.vec", _write_word2vec_text, text=True),
    Kind("glove", "word2vec-text", "glove.txt", _write_glove, text=True),
    Kind("word2vec-bin", "word2vec-bin", "words.bin", _write_word2vec_bin),
    Kind("csv", "csv", "table.csv", _write_csv, text=True),
    Kind("tsv", "csv", "emb.tsv", _write_tsv, text=True),
    Kind("jsonl", "jsonl", "rows.jsonl", _write_jsonl, text=True),
    Kind("parquet", "parquet", "table.parquet", _write_parquet),
    Kind("parquet-uncompressed", "parquet", "plain.parquet", _write_parquet_plain),
    Kind("arrow", "arrow", "table.arrow", _write_arrow),
    Kind("arrow-stream", "arrow", "stream.arrow", _write_arrow_stream),
    Kind("hdf5", "hdf5", "ann.hdf5", _write_hdf5),
    Kind("safetensors", "safetensors", "model.safetensors", _write_safetensors),
]}


def write_valid(kind: str, directory: Path) -> Path:
    k = KINDS[kind]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / k.filename
    k.write(path)
    return path
