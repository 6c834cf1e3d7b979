"""Inputs for encoding: text chunks with exact offsets, table rows, folders, images, skips."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from explorer.core.errors import InputError
from explorer.core.inputs import InputOptions, InputPlan, Skipped
from explorer.core.inputs import tables as table_inputs
from explorer.core.inputs import text_files
from explorer.core.inputs.chunking import approx_tokens, chunk_spans
from explorer.core.jobs import Cancelled, TaskState

WORDS = ("river stone lantern quiet harbour meadow copper violin orchard thunder "
         "paper garden silver morning window candle forest").split()


def prose(paragraphs: int, sentences: int = 6, words: int = 12, seed: int = 0) -> str:
    """Deterministic English-like text: paragraphs of sentences of words."""
    out = []
    k = seed
    for _ in range(paragraphs):
        sents = []
        for _ in range(sentences):
            ws = [WORDS[(k * 7 + i * 3) % len(WORDS)] for i in range(words)]
            k += 1
            sents.append(" ".join(ws).capitalize() + ".")
        out.append(" ".join(sents))
    return "\n\n".join(out) + "\n"


def word_count(text: str) -> int:
    """A tokenizer stand-in: words and punctuation, plus [CLS] and [SEP]."""
    return 2 + len(re.findall(r"\w+|[^\w\s]", text))


def plan_items(paths, **options):
    plan = InputPlan(paths, InputOptions(**options))
    return plan, list(plan.items())


def reasons(plan: InputPlan) -> dict[str, str]:
    return {os.path.basename(s.path): s.reason for s in plan.skipped}


# --- chunking ------------------------------------------------------------------------

def test_chunks_reproduce_text_fit_budget_and_overlap(tmp_path):
    text = prose(12, sentences=8)
    (tmp_path / "doc.md").write_text(text, encoding="utf-8")
    plan, items = plan_items([tmp_path / "doc.md"], chunk_tokens=60, overlap_tokens=12,
                             count_tokens=word_count)
    assert len(items) > 5
    for i, item in enumerate(items):
        m = item.meta
        assert m["source"] == "doc.md" and m["chunk"] == i
        assert text[m["char_start"]:m["char_end"]] == item.text
        assert word_count(item.text) <= 60
        assert item.text == item.text.strip() and item.image is None
    # every chunk after the first starts inside the one before, by at most the overlap
    for a, b in zip(items, items[1:]):
        assert b.meta["char_start"] < a.meta["char_end"]
        shared = text[b.meta["char_start"]:a.meta["char_end"]]
        assert 0 < word_count(shared) - 2 <= 12
    # nothing is lost: the chunks cover every word
    covered = set()
    for item in items:
        covered.update(range(item.meta["char_start"], item.meta["char_end"]))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_short_paragraphs_are_packed_and_kept_whole():
    paras = [prose(1, sentences=2, words=8, seed=s).strip() for s in range(6)]
    text = "\n\n".join(paras)
    spans = chunk_spans(text, 100, 0, word_count)
    assert len(spans) < len(paras)
    for s, e in spans:  # chunks end at paragraph ends when that keeps them half full
        assert text[s:e] in text and (e == len(text) or text[e:e + 2] == "\n\n")


def test_long_paragraph_is_split_at_sentences_then_words_then_characters():
    para = prose(1, sentences=30, words=10).strip()
    spans = chunk_spans(para, 50, 0, word_count)
    assert len(spans) > 5
    assert all(para[e - 1] == "." for s, e in spans[:-1])  # sentence ends
    one_sentence = " ".join(["word"] * 300) + "."
    spans = chunk_spans(one_sentence, 40, 0, word_count)
    assert all(word_count(one_sentence[s:e]) <= 40 for s, e in spans)
    assert all(one_sentence[s:e].split()[0] == "word" for s, e in spans)  # whole words
    blob = "x" * 1000  # one "word" longer than any budget: cut between characters

    def chars(t: str) -> int:
        return len(t) // 4

    spans = chunk_spans(blob, 50, 0, chars)
    assert "".join(blob[s:e] for s, e in spans) == blob
    assert all(chars(blob[s:e]) <= 50 for s, e in spans)


def test_unicode_offsets_and_cjk(tmp_path):
    text = ("Ünïcödé café — naïve façade 🚀. " * 20 + "\n\n" + "这是一个测试句子。" * 40
            + "\n\n" + "Emoji 👩‍👩‍👧 and Ελληνικά κείμενα. " * 15)
    (tmp_path / "u.txt").write_text(text, encoding="utf-8")
    _, items = plan_items([tmp_path / "u.txt"], chunk_tokens=40, overlap_tokens=5)
    assert len(items) > 5
    for item in items:
        assert text[item.meta["char_start"]:item.meta["char_end"]] == item.text
        assert approx_tokens(item.text) <= 40
    assert any("测试" in it.text for it in items)


def test_bom_and_utf16(tmp_path):
    text = "First paragraph.\n\nSecond paragraph, ünïcode."
    (tmp_path / "bom8.txt").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "bom16.txt").write_bytes(text.encode("utf-16"))  # with its BOM
    _, items = plan_items([tmp_path], chunk_tokens=200)
    assert [(it.meta["source"], it.text) for it in items] == [
        (f"{tmp_path.name}/bom16.txt", text), (f"{tmp_path.name}/bom8.txt", text)]
    assert items[0].meta["char_start"] == 0 and items[0].meta["char_end"] == len(text)


def test_bad_text_files_are_skipped_with_reasons(tmp_path):
    (tmp_path / "good.txt").write_text("Fine text here.")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("  \n\n \t\n")
    (tmp_path / "binary.txt").write_bytes(b"abc\x00\x01\x02" * 10)
    (tmp_path / "latin1.txt").write_bytes("line one\nline two\ncaf\xe9".encode("latin-1"))
    (tmp_path / "bad16.txt").write_bytes(b"\xff\xfe" + "ok".encode("utf-16-le") + b"\x00\xd8")
    plan, items = plan_items([tmp_path])
    assert [it.text for it in items] == ["Fine text here."]
    why = reasons(plan)
    assert why["empty.txt"] == "empty file"
    assert why["blank.md"] == "holds only whitespace"
    assert why["binary.txt"].startswith("binary file (NUL byte at offset 3)")
    assert "not UTF-8" in why["latin1.txt"] and "0xe9 at offset 21" in why["latin1.txt"]
    assert "UTF-16" in why["bad16.txt"]
    latin = next(s for s in plan.skipped if s.path.endswith("latin1.txt"))
    assert latin.line == 3 and latin.path == str(tmp_path / "latin1.txt")


def test_unreadable_file_does_not_stop_the_rest(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("Alpha.")
    (tmp_path / "b.txt").write_text("Beta.")
    read_bytes = Path.read_bytes

    def refuse(path):
        if path.name == "a.txt":  # chmod 0 would not stop root
            raise PermissionError(13, "Permission denied", str(path))
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", refuse)
    plan, items = plan_items([tmp_path])
    assert [it.text for it in items] == ["Beta."]
    assert "permission denied" in reasons(plan)["a.txt"].lower()


# --- folders -------------------------------------------------------------------------

def test_folders_recursive_sorted_pattern_hidden_and_symlink_loops(tmp_path):
    root = tmp_path / "docs"
    for rel in ("b.md", "a.md", "sub/c.md", "sub/deeper/d.MD", "notes.txt", "code.py",
                ".hidden.md", ".git/e.md", "sub/.cache/f.md"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"Text of {rel}.")
    os.symlink(root, root / "sub" / "loop")  # a loop back to the top
    plan = InputPlan([root], InputOptions(pattern="*.md"))
    names = [p.relative_to(root).as_posix() for p in plan.files]
    assert names == ["a.md", "b.md", "sub/c.md", "sub/deeper/d.MD"]
    items = list(plan.items())
    assert [it.meta["source"] for it in items] == [f"docs/{n}" for n in names]
    # default: every supported file of the modality (text, not code); several globs
    default = InputPlan([root]).files
    assert [p.name for p in default] == ["a.md", "b.md", "notes.txt", "c.md", "d.MD"]
    both = InputPlan([root], InputOptions(pattern="*.py, *.txt")).files
    assert [p.name for p in both] == ["code.py", "notes.txt"]
    # a hidden file named directly is read; the same file twice is read once
    named = InputPlan([root / ".hidden.md", root / ".hidden.md", root / "a.md"]).files
    assert [p.name for p in named] == [".hidden.md", "a.md"]


def test_missing_path_and_nothing_to_read(tmp_path):
    with pytest.raises(InputError, match="no such file or folder") as info:
        InputPlan([tmp_path / "nope"])
    assert info.value.path == str(tmp_path / "nope")
    (tmp_path / "only.py").write_text("x = 1")
    with pytest.raises(InputError, match="nothing to read"):
        InputPlan([tmp_path])
    (tmp_path / "p.png").write_bytes(b"")
    with pytest.raises(InputError, match="image model"):
        InputPlan([tmp_path / "p.png"])


def test_options_are_checked(tmp_path):
    (tmp_path / "a.txt").write_text("A.")
    for opts, field in ((dict(modality="audio"), "modality"),
                        (dict(chunk_tokens=0), "chunk_tokens"),
                        (dict(chunk_tokens=50, overlap_tokens=50), "overlap_tokens"),
                        (dict(chunk_tokens=2, overlap_tokens=0, count_tokens=word_count),
                         "chunk_tokens")):
        with pytest.raises(InputError) as info:
            InputPlan([tmp_path], InputOptions(**opts))
        assert info.value.option == field


# --- order, resume, estimate, cancel -------------------------------------------------

def mixed_inputs(tmp_path):
    (tmp_path / "a.md").write_text(prose(6))
    (tmp_path / "b.bin.txt").write_bytes(b"\x00\x01")
    table = pa.table({"id": list(range(50)),
                      "text": [None if i % 7 == 3 else f"row {i}" for i in range(50)]})
    pq.write_table(table, tmp_path / "c.parquet", row_group_size=8)
    (tmp_path / "d.txt").write_text(prose(3, seed=5))
    (tmp_path / "e.jsonl").write_text("".join(json.dumps({"text": f"j{i}"}) + "\n"
                                              for i in range(5)))
    return [tmp_path]


def test_order_is_deterministic_and_start_gives_the_tail(tmp_path):
    paths = mixed_inputs(tmp_path)
    options = dict(chunk_tokens=50, overlap_tokens=10)
    plan, full = plan_items(paths, **options)
    assert full == plan_items(paths, **options)[1]
    assert len(full) > 60
    all_skipped = list(plan.skipped)
    assert [s.row for s in all_skipped if s.row is not None] == [3, 10, 17, 24, 31, 38, 45]
    for start in (1, 7, 20, 23, 37, len(full) - 1, len(full), len(full) + 5):
        again = InputPlan(paths, InputOptions(**options))
        assert list(again.items(start=start)) == full[start:]
        # a resumed run reports only what is skipped after the point it resumes from
        assert again.skipped == all_skipped[len(all_skipped) - len(again.skipped):]


def test_estimate_is_close_for_text_and_exact_for_tables(tmp_path):
    (tmp_path / "long.md").write_text(prose(40))
    (tmp_path / "short.txt").write_text("Just one line.")
    text_plan, text_items = plan_items([tmp_path], chunk_tokens=200, overlap_tokens=30)
    assert len(text_items) / 2 <= text_plan.estimate() <= len(text_items) * 2
    tables = tmp_path / "tables"
    tables.mkdir()
    pq.write_table(pa.table({"tags": [[1, 2]] * 40, "text": ["a", None, "c", "d"] * 10}),
                   tables / "t.parquet", row_group_size=6)  # statistics of a nested table
    (tables / "t.csv").write_text("id,text\n" + "".join(f"{i},t{i}\n" for i in range(23)))
    (tables / "t.jsonl").write_text("\n".join(json.dumps({"text": f"x{i}"}) for i in range(9)))
    plan, items = plan_items([tables])
    assert plan.estimate() == len(items) == 30 + 23 + 9


def test_cancel_stops_reading(tmp_path):
    (tmp_path / "a.txt").write_text(prose(5))
    state = TaskState()
    plan = InputPlan([tmp_path], InputOptions(chunk_tokens=30, overlap_tokens=0))
    it = plan.items(state=state)
    next(it)
    state.cancel()
    with pytest.raises(Cancelled):
        next(it)


# --- tables --------------------------------------------------------------------------

def test_table_column_choice_and_errors(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,title,body,score\n1,First,Body one,0.5\n2,Second,Body two,1.5\n")
    with pytest.raises(InputError, match="several columns hold text: title, body") as info:
        InputPlan([path])
    assert info.value.choices == ("title", "body") and info.value.option == "column"
    with pytest.raises(InputError, match="no column named 'text'") as info:
        InputPlan([path], InputOptions(column="text"))
    assert info.value.choices == ("title", "body") and "title, body" in info.value.hint
    _, items = plan_items([path], column="BODY")  # case does not matter when unambiguous
    assert [it.text for it in items] == ["Body one", "Body two"]
    assert items[0].meta == {"source": "t.csv", "row": 0, "id": 1, "title": "First",
                             "score": 0.5}
    single = tmp_path / "s.parquet"
    pq.write_table(pa.table({"n": [1, 2], "sentence": ["x", "y"]}), single)
    assert [it.text for it in plan_items([single])[1]] == ["x", "y"]
    named = tmp_path / "n.jsonl"
    named.write_text('{"title": "T", "text": "body", "tags": ["a", "b"], "m": {"k": 1}}\n')
    item = plan_items([named])[1][0]
    assert item.text == "body"
    assert item.meta == {"source": "n.jsonl", "row": 0, "title": "T", "tags": '["a", "b"]',
                         "m": '{"k": 1}'}


def test_table_found_in_a_folder_with_no_column_is_skipped_not_fatal(tmp_path):
    (tmp_path / "a.md").write_text("Some notes.")
    (tmp_path / "t.csv").write_text("title,body\nA,B\n")
    plan, items = plan_items([tmp_path])
    assert [it.text for it in items] == ["Some notes."]
    assert "several columns hold text" in reasons(plan)["t.csv"]
    (tmp_path / "a.md").unlink()
    with pytest.raises(InputError, match="several columns hold text"):
        InputPlan([tmp_path])


def test_null_and_bad_rows_are_skipped_with_row_numbers(tmp_path):
    csv_path = tmp_path / "t.csv"
    csv_path.write_bytes(b'id,text,extra\n0,"multi\nline",a\n1,,b\n2,"  ",c\n'
                         b'3,caf\xe9,d\n4,too,many,fields\n5,fine,e\n')
    plan, items = plan_items([csv_path])  # "text" is guessed binary (the 0xe9), still text
    assert [(it.meta["row"], it.text) for it in items] == [(0, "multi\nline"), (4, "fine")]
    got = [(s.row, s.reason) for s in plan.skipped]
    assert got[0][1].startswith("has 4 fields where the header has 3")
    assert got[1:] == [(1, "empty text"), (2, "empty text"),
                       (3, "text is not UTF-8 (byte 0xe9 at offset 3)")]
    pq_path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": ["a", None, "", "d"], "k": [1, 2, 3, 4]}), pq_path)
    plan, items = plan_items([pq_path])
    assert [it.meta["k"] for it in items] == [1, 4]
    assert [(s.row, s.reason) for s in plan.skipped] == [(1, "no text (empty cell)"),
                                                        (2, "empty text")]
    jl = tmp_path / "t.jsonl"
    jl.write_text('{"text": "a"}\n\n{"text": null}\n{"other": 1}\nnot json\n[1]\n'
                  '{"text": {"x": 1}}\n{"text": 42}\n')
    plan, items = plan_items([jl])
    assert [(it.meta["row"], it.text) for it in items] == [(0, "a"), (6, "42")]
    got = [(s.line, s.row, s.reason.split(" (")[0]) for s in plan.skipped]
    assert got == [(3, 1, "no text"), (4, 2, "no 'text' field"), (5, 3, "not valid JSON"),
                   (6, 4, "each line must be a JSON object"), (7, 5, "holds a dict, not text")]


def test_csv_reserved_names_tsv_and_a_type_that_changes_late(tmp_path, monkeypatch):
    tsv = tmp_path / "t.tsv"
    tsv.write_text('source\ttext\trow\n"quoted start\tHello\t7\n')
    item = plan_items([tsv], column="text")[1][0]
    assert item.text == "Hello"
    assert item.meta == {"source": "t.tsv", "row": 0, "source_meta": '"quoted start',
                         "row_meta": 7}
    # pyarrow guesses types from the first block; a later block that breaks it is re-read
    monkeypatch.setattr(table_inputs, "_CSV_BLOCK", 64)
    path = tmp_path / "late.csv"
    rows = [f"{i},text {i},{i}" for i in range(12)] + ["12,text 12,n/a", "13,text 13,9"]
    path.write_text("id,text,n\n" + "\n".join(rows) + "\n")
    plan, items = plan_items([path])
    assert [it.text for it in items] == [f"text {i}" for i in range(14)]
    assert [it.meta["row"] for it in items] == list(range(14))
    assert items[0].meta["n"] == 0 and items[12].meta["n"] == "n/a"
    assert plan.skipped == []


def test_damaged_table_is_skipped(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    (tmp_path / "header.csv").write_text("id,text\n")
    (tmp_path / "pretty.jsonl").write_text('{\n  "text": "a"\n}\n')
    (tmp_path / "config.json").write_text('{"name": "not data"}')  # not taken from folders
    (tmp_path / "ok.txt").write_text("Fine.")
    plan, items = plan_items([tmp_path])
    assert [it.text for it in items] == ["Fine."]
    why = reasons(plan)
    assert set(why) == {"bad.parquet", "header.csv", "pretty.jsonl"}
    assert "not a readable Parquet file" in why["bad.parquet"]
    assert why["header.csv"] == "the table has no rows after the column names"
    assert "JSON Lines expected" in why["pretty.jsonl"]


# --- images and PDF ------------------------------------------------------------------

def test_images_and_non_images(tmp_path):
    Image.new("RGB", (8, 6), "red").save(tmp_path / "a.png")
    Image.new("RGB", (8, 6), "blue").save(tmp_path / "b.jpg")
    Image.new("L", (4, 4)).save(tmp_path / "c.webp")
    (tmp_path / "fake.jpg").write_text("not an image")
    (tmp_path / "notes.txt").write_text("text")
    plan, items = plan_items([tmp_path], modality="image")
    assert [it.image.name for it in items] == ["a.png", "b.jpg", "c.webp"]
    assert items[0].text is None
    assert items[0].meta == {"source": f"{tmp_path.name}/a.png",
                             "path": str(tmp_path / "a.png")}
    assert reasons(plan) == {"fake.jpg": "not an image Pillow can read"}
    assert plan.estimate() == 4
    plan, _ = plan_items([tmp_path / "notes.txt", tmp_path / "a.png"], modality="image")
    assert reasons(plan)["notes.txt"].startswith("not an image file")


def test_pdf_text_with_pages(tmp_path):
    (tmp_path / "doc.pdf").write_bytes(minimal_pdf(["First page words.", "Second page words."]))
    plan, items = plan_items([tmp_path / "doc.pdf"], chunk_tokens=6, overlap_tokens=0)
    assert [(it.text, it.meta["page"]) for it in items] == [
        ("First page words.", 1), ("Second page words.", 2)]
    assert plan.estimate() >= 2


def minimal_pdf(pages: list[str]) -> bytes:
    """A small valid PDF with one line of Helvetica text per page."""
    n = len(pages)
    objs = ["<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [" + " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
            + f"] /Count {n} >>",
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for i, text in enumerate(pages):
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET"
        objs.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>")
        objs.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    out = b"%PDF-1.4\n"
    offsets = []
    for i, obj in enumerate(objs, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{obj}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


# --- hostile inputs (issue 14) ----------------------------------------------------------

@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_devices_and_pipes_are_skipped_unread(tmp_path):
    """/dev/zero was read until memory ran out; a pipe would wait for a writer forever."""
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)
    zero = tmp_path / "zero.txt"
    zero.symlink_to("/dev/zero")
    (tmp_path / "ok.txt").write_text(prose(1))
    with pytest.raises(InputError) as info:
        InputPlan([zero, pipe])
    assert "not a regular file" in info.value.message
    plan = InputPlan([zero, pipe, tmp_path / "ok.txt"])
    assert len(list(plan.items())) >= 1
    assert {s.reason for s in plan.skipped} == {"not a regular file (a device, pipe or socket)"}


def test_hostile_images_are_skipped_with_a_reason_or_left_to_the_decoder(tmp_path):
    """Issue 21's hostile images, as encoding inputs: what the header shows (not an image, a
    PostScript file named .jpg, which decoding would hand to Ghostscript; a bomb) is skipped
    here; what only decoding finds (a truncated file) is kept for the encoder to report."""
    import numpy as np
    from image_files import hostile_images, real_bomb

    folder = tmp_path / "images"
    folder.mkdir()
    hostile = {name: data for name, data in hostile_images(np.random.default_rng(0)).items()
               if not name.endswith(".tif")}  # not an input suffix
    hostile["real-bomb.png"] = real_bomb()
    for name, data in hostile.items():
        (folder / name).write_bytes(data)
    plan, items = plan_items([folder], modality="image")
    why = reasons(plan)
    assert why["postscript.jpg"] == "not an image Pillow can read"
    assert {why[n] for n in ("garbage.jpg", "empty.png", "text.png")} == {
        "not an image Pillow can read"}
    for name in ("bomb-declared.png", "bomb-warning.png", "real-bomb.png"):
        assert why[name].startswith("image too large to decode safely"), name
    kept = {item.image.name for item in items}
    assert kept | set(why) == set(hostile) and not kept & set(why)
    assert {"truncated.jpg", "truncated.png"} <= kept


def test_text_file_larger_than_memory_is_skipped(tmp_path, monkeypatch):
    path = tmp_path / "big.txt"
    path.write_text(prose(20))
    monkeypatch.setattr(text_files, "available_memory", lambda: 1000)
    plan = InputPlan([path])
    assert list(plan.items()) == []
    assert "too large" in plan.skipped[0].reason


def test_jsonl_nested_too_deeply_for_python_is_skipped(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"text": "fine"}\n{"text": "deep", "x": ' + "[" * 100_000 + "]" * 100_000
                    + "}\n")
    plan = InputPlan([path])
    assert [item.text for item in plan.items()] == ["fine"]
    assert plan.skipped[0].line == 2 and "deeply" in plan.skipped[0].reason


def test_a_parquet_table_s_items_are_its_non_null_texts_across_row_groups(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"text": ["a", None, "b", None, "c"] * 1000,
                             "n": list(range(5000))}), path, row_group_size=700)
    assert table_inputs.count_rows(path, "text") == 3000
    assert table_inputs.count_rows(path, "missing") == 5000
