"""Only an existing document or image named by an item's `path`/`source` is offered to open."""

import os

import numpy as np
import pyarrow as pa

from explorer.core.embedding_set import EmbeddingSet
from explorer.core.source_files import source_file


def a_set(values, column="source") -> EmbeddingSet:
    return EmbeddingSet(np.zeros((len(values), 2), np.float32),
                        pa.table({column: values}), "files")


def test_an_existing_text_file_is_offered(tmp_path):
    note = tmp_path / "note.txt"
    note.write_text("hello")
    found = source_file(a_set([str(note)]), 0)
    assert found.path == note.resolve() and found.problem == ""


def test_path_column_is_preferred_to_source(tmp_path):
    image = tmp_path / "cat.png"
    image.write_bytes(b"\x89PNG")
    es = EmbeddingSet(np.zeros((1, 2), np.float32),
                      pa.table({"source": ["/elsewhere/x.txt"], "path": [str(image)]}), "images")
    assert source_file(es, 0).path == image.resolve()


def test_programs_missing_files_and_relative_paths_are_refused(tmp_path):
    program = tmp_path / "run.sh"
    program.write_text("#!/bin/sh\n")
    link = tmp_path / "innocent.txt"
    os.symlink(program, link)
    es = a_set([str(program), str(link), str(tmp_path / "gone.txt"), "notes/a.txt", None, ""])
    problems = [source_file(es, row) for row in range(6)]
    assert all(p.path is None and p.problem for p in problems)
    assert "not a document or image" in problems[0].problem
    assert "not a document or image" in problems[1].problem  # the link's target decides
    assert "no longer there" in problems[2].problem
    assert "not a full path" in problems[3].problem
    assert "has no source" in problems[4].problem and "has no source" in problems[5].problem


def test_a_set_without_file_columns_says_so():
    assert "does not record" in source_file(a_set([1, 2], column="n"), 1).problem
