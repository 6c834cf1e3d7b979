"""word2vec / GloVe / fastText word vectors: text with and without a count header, and binary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from explorer.core.errors import InputError
from explorer.core.loaders import LoadOptions, open_file

WORDS = ["the", "café", "2006", "dog's", "naïve-ish"]  # a number-like word stays a word
V = (np.arange(20, dtype=np.float32).reshape(5, 4) - 9) / 16


def load_error(path: Path, **options) -> InputError:
    with pytest.raises(InputError) as info:
        open_file(path, LoadOptions(**options))
    assert type(info.value) is InputError
    return info.value


def text_lines(words=WORDS, vectors=V, trailing: str = "") -> str:
    return "".join(f"{w} {' '.join(repr(float(x)) for x in row)}{trailing}\n"
                   for w, row in zip(words, vectors))


def write_bin(path: Path, words=WORDS, vectors=V, newline: bool = True,
              header: bytes | None = None) -> None:
    """The word2vec C tool's layout: b"count dim\\n", then word, space, float32 LE values."""
    with open(path, "wb") as fh:
        fh.write(header if header is not None else f"{len(words)} {vectors.shape[1]}\n".encode())
        for w, row in zip(words, vectors):
            fh.write(w.encode("utf-8") + b" " + row.astype("<f4").tobytes())
            if newline:
                fh.write(b"\n")


def assert_words_loaded(es, fmt: str) -> None:
    assert es.format == fmt
    assert es.vectors.shape == (5, 4)
    np.testing.assert_array_equal(es.vectors, V)
    assert es.columns == ["word"]
    assert es.metadata.column("word").to_pylist() == WORDS
    assert es.id_column == "word"
    assert es.text_column == "word"
    assert es.label(1) == "café"


@pytest.mark.parametrize("trailing", ["", " "], ids=["gensim", "c-tool-trailing-space"])
@pytest.mark.parametrize("suffix", [".txt", ".vec"])
def test_word2vec_text_with_count_header(tmp_path, trailing, suffix):
    path = tmp_path / f"w2v{suffix}"
    path.write_text("5 4\n" + text_lines(trailing=trailing), encoding="utf-8")
    es = open_file(path)
    assert_words_loaded(es, "word2vec-text")
    assert "count header" in es.notes[0]


def test_glove_text_without_header(tmp_path):
    path = tmp_path / "glove.6B.4d.txt"
    path.write_text(text_lines(), encoding="utf-8")
    es = open_file(path)
    assert_words_loaded(es, "word2vec-text")
    assert "no header" in es.notes[0]


def test_word_text_with_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "w.txt"
    path.write_bytes(("5 4\r\n" + text_lines().replace("\n", "\r\n") + "\r\n").encode())
    assert_words_loaded(open_file(path), "word2vec-text")


@pytest.mark.parametrize("newline", [True, False], ids=["c-tool", "no-newline"])
def test_word2vec_binary(tmp_path, newline):
    path = tmp_path / "GoogleNews-vectors.bin"
    write_bin(path, newline=newline)
    es = open_file(path)
    assert_words_loaded(es, "word2vec-bin")
    assert es.vectors.dtype == np.float32


def test_word2vec_binary_values_that_look_like_newlines_and_spaces(tmp_path):
    """Float bytes 0x0a / 0x20 inside a vector must not be taken for separators."""
    tricky = np.frombuffer(b"\x0a\x20\x0a\x20" * 8, dtype="<f4").reshape(2, 4).copy()
    path = tmp_path / "tricky.bin"
    write_bin(path, words=["a", "b"], vectors=tricky)
    es = open_file(path)
    np.testing.assert_array_equal(es.vectors, tricky)
    assert es.metadata.column("word").to_pylist() == ["a", "b"]


@pytest.mark.parametrize("header", ["5 4\n", ""], ids=["word2vec", "glove"])
def test_word_text_with_byte_order_mark(tmp_path, header):
    path = tmp_path / "w.txt"
    path.write_bytes("\ufeff".encode() + (header + text_lines()).encode())
    assert_words_loaded(open_file(path), "word2vec-text")


def test_first_line_with_non_ascii_digits_is_not_a_count_header(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("² ³\na 0.5\n", encoding="utf-8")  # "²".isdigit() is True, int("²") fails
    err = load_error(path)
    assert (err.line, err.column) == (1, 2)
    assert "'³' is not a number" in err.message


def test_tab_separated_word_vectors_get_a_hint(tmp_path):
    path = tmp_path / "w.txt"
    path.write_text("the 0.5 0.25\nof\t1\t2\n")
    err = load_error(path)
    assert err.line == 2
    assert err.hint == "separate values with spaces"
