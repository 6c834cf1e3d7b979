"""`inspect` and `import` of a table of texts without vectors: one line saying how to encode it,
exit status 2, as for any other input error."""

import json

import pytest

from explorer.cli import run
from explorer.core.library import Library


@pytest.mark.parametrize("command", ["inspect", "import"])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_texts_without_vectors_print_the_encode_command(tmp_path, capsys, command, suffix):
    path = tmp_path / f"reviews{suffix}"
    rows = [{"stars": i % 5, "review": f"review number {i}, longer than a word"} for i in range(20)]
    if suffix == ".csv":
        path.write_text("stars,review\n" + "".join(f"{r['stars']},{r['review']}\n" for r in rows)
                        .replace(", longer", " longer"), encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert run([command, str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0] == (f"error: {path}: holds text but no vectors (encode it: "
                        f"embedding-explorer encode {path} --column review --model minilm)")
    assert Library().entries() == []
