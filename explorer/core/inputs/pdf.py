"""PDF text via pypdf (pure Python, well kept), imported only when a PDF is read."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path

from explorer.core.inputs.items import InputOptions, Item, SkipFile
from explorer.core.inputs.text_files import chunk_items, estimate_chunks

SUFFIXES = (".pdf",)
_TOKENS_PER_PAGE = 650  # about 500 words


def read_items(path: Path, source: str, options: InputOptions) -> Iterator[Item]:
    """Chunks of the pages' text joined by blank lines: offsets index that text; `page` from 1."""
    pages = _pages(path)
    starts, pos = [], 0
    for page in pages:
        starts.append(pos)
        pos += len(page) + 2
    text = "\n\n".join(pages)
    if not text.strip():
        raise SkipFile("the PDF holds no text (scanned pages need OCR first)")
    for item in chunk_items(text, source, options):
        item.meta["page"] = bisect_right(starts, item.meta["char_start"])
        yield item


def estimate(path: Path, options: InputOptions) -> int:
    try:
        from pypdf import PdfReader

        pages = len(PdfReader(path).pages)
    except Exception:  # noqa: BLE001 - a damaged file: reading it will say why
        return 0
    return pages * estimate_chunks(_TOKENS_PER_PAGE, options)


def _pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    # pypdf meets damaged files with many kinds of exception; any of them means "unreadable".
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkipFile("the PDF is encrypted and needs a password")
        return [page.extract_text() or "" for page in reader.pages]
    except SkipFile:
        raise
    except Exception as exc:  # noqa: BLE001
        raise SkipFile(f"cannot read the PDF ({type(exc).__name__}: {exc})") from None
