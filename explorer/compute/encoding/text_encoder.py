"""Text to vectors with an ONNX model: tokenise, pad per batch, run, pool, normalise.

Speed comes from three things: one onnxruntime session reused for every batch
with as many intra-op threads as there are cores; padding each batch only to
its longest text (published tokenizer.json files often pad everything to 128
or 512 tokens, which made the default model 13x slower on short texts); and
batches of texts of similar length, so little of any batch is padding.
Tokenising (`tokenize`) and running the model (`run`) are separate steps, so a
pipeline can tokenise the next batch in another thread while the model runs
this one (both release the GIL).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

from explorer.compute.encoding.model_folder import ModelFolder, open_model, pool_output
from explorer.compute.encoding.runtime import RUN_ERRORS, run_error
from explorer.core.errors import InputError

KINDS = ("document", "query")


@dataclass
class TokenBatch:
    """One padded batch, ready for the model."""

    ids: np.ndarray  # int64 [n, longest], padded with the tokenizer's pad id
    mask: np.ndarray  # int64 [n, longest], 1 on real tokens
    type_ids: np.ndarray  # int64 [n, longest]
    rows: np.ndarray  # where these items are in the list they came from (for messages)

    def __len__(self) -> int:
        return len(self.ids)


def length_batches(lengths: Sequence[int] | np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Row indices in batches of similar length, longest first (memory trouble shows at once)."""
    if batch_size < 1:
        raise InputError(f"batch size must be at least 1, not {batch_size}")
    order = np.argsort(-np.asarray(lengths, dtype=np.int64), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


class TextEncoder:
    """Encodes texts with a text model folder (or a CLIP-style folder's text tower); one
    instance per model, reused."""

    def __init__(self, folder: ModelFolder | str | Path, threads: int | None = None) -> None:
        self.folder = folder if isinstance(folder, ModelFolder) else open_model(folder)
        if self.folder.text_tower is not None:
            self.folder = self.folder.text_tower
        config = self.folder.config
        if config.modality != "text":
            raise InputError(f"model {self.folder.name!r} encodes images, not text",
                             path=self.folder.path)
        self.dim = self.folder.dim
        self._tokenizer = _load_tokenizer(self.folder.tokenizer_file)
        self._pad_id = _pad_id(self._tokenizer)
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(config.max_tokens)
        # Counting wants the true length, so the chunker can keep chunks under max_tokens.
        self._counter = _load_tokenizer(self.folder.tokenizer_file)
        self._counter.no_padding()
        self._counter.no_truncation()
        self._session = self.folder.session(threads)

    def prefixed(self, texts: Sequence[str], kind: str = "document") -> list[str]:
        if kind not in KINDS:
            raise InputError(f"kind {kind!r} is not one of {', '.join(KINDS)}")
        if isinstance(texts, str):
            raise TypeError("expected a sequence of texts, got one string")
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                raise InputError(f"item {row} is {type(text).__name__}, not text", row=row)
        config = self.folder.config
        prefix = config.query_prefix if kind == "query" else config.document_prefix
        return [prefix + t for t in texts] if prefix else list(texts)

    def count_tokens(self, text: str, kind: str = "document") -> int:
        """Tokens the model would see, prefix and special tokens included, before truncation."""
        return len(self._counter.encode(self.prefixed([text], kind)[0]).ids)

    def tokenize(self, texts: Sequence[str], kind: str = "document") -> TokenBatch:
        """Tokenise one batch, truncated to max_tokens and padded to its longest text."""
        encodings = self._tokenizer.encode_batch(self.prefixed(texts, kind))
        return self._pad(encodings, np.arange(len(encodings)))

    def run(self, batch: TokenBatch) -> np.ndarray:
        """Run the model on one batch: float32 [n, dim], pooled and normalised as configured."""
        feeds = {"input_ids": batch.ids, "attention_mask": batch.mask,
                 "token_type_ids": batch.type_ids}
        inputs = self.folder.inputs
        if "attention_mask" not in inputs and len(batch) > 1 and not batch.mask.all():
            # The model cannot be told where padding is: run each length on its own.
            return self._run_by_length(batch)
        try:
            out = self._session.run([self.folder.output], self.folder.feeds(
                {name: feeds[name].astype(inputs[name], copy=False) for name in inputs}))[0]
        except RUN_ERRORS as exc:
            raise InputError(
                f"the model cannot run on {len(batch)} text(s) of up to {batch.ids.shape[1]} "
                f"tokens ({run_error(exc)})", path=self.folder.model_file,
                row=int(batch.rows[0]) if len(batch) == 1 else None,
                hint=f"it reads at most {self.folder.config.max_tokens} tokens now; if it takes "
                     'fewer, set "max_tokens" in explorer-model.json (a CLIP text tower: '
                     '"text_tower": {"max_tokens": 77})') from None
        return pool_output(self.folder, out, batch.mask, batch.rows)

    def batches(self, texts: Sequence[str], batch_size: int = 64,
                kind: str = "document") -> list[TokenBatch]:
        """Tokenise all `texts`, then pad them in batches of similar token count.

        Sorting by tokens (not characters) is what keeps padding near zero; each
        batch's `rows` say which of `texts` it holds.
        """
        encodings = self._tokenizer.encode_batch(self.prefixed(texts, kind))
        return [self._pad([encodings[i] for i in rows], rows)
                for rows in length_batches([len(e.ids) for e in encodings], batch_size)]

    def encode(self, texts: Sequence[str], kind: str = "document",
               batch_size: int = 64) -> np.ndarray:
        """Encode texts in batches sorted by length; rows come back in the given order."""
        out = np.empty((len(texts), self.dim), np.float32)
        for batch in self.batches(texts, batch_size, kind):
            out[batch.rows] = self.run(batch)
        return out

    def _pad(self, encodings: list[Encoding], rows: np.ndarray) -> TokenBatch:
        longest = max((len(e.ids) for e in encodings), default=0)
        shape = (len(encodings), longest)
        ids = np.full(shape, self._pad_id, np.int64)
        mask = np.zeros(shape, np.int64)
        type_ids = np.zeros(shape, np.int64)
        for i, e in enumerate(encodings):
            n = len(e.ids)
            ids[i, :n] = e.ids
            mask[i, :n] = 1
            type_ids[i, :n] = e.type_ids
        return TokenBatch(ids, mask, type_ids, np.asarray(rows))

    def _run_by_length(self, batch: TokenBatch) -> np.ndarray:
        lengths = batch.mask.sum(axis=1)
        out = np.empty((len(batch), self.dim), np.float32)
        for n in np.unique(lengths):
            sel = np.flatnonzero(lengths == n)
            out[sel] = self.run(TokenBatch(batch.ids[sel, :n], batch.mask[sel, :n],
                                           batch.type_ids[sel, :n], batch.rows[sel]))
        return out


def _load_tokenizer(path: Path) -> Tokenizer:
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on bad files
        raise InputError(f"cannot read the tokenizer: {exc}", path=path) from None


def _pad_id(tokenizer: Tokenizer) -> int:
    """The id the tokenizer pads with (its padding config, else a [PAD]-like token, else 0)."""
    if tokenizer.padding:
        return int(tokenizer.padding["pad_id"])
    for token in ("[PAD]", "<pad>", "<|endoftext|>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return found
    return 0
