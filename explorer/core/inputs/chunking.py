"""Cut a document into chunks that fit a token budget, keeping exact character offsets.

Chunks are spans of the decoded text (`text[start:end]` is the chunk), so an item
can always be traced back to, and shown in, its place in the file. Sentences are
packed into chunks; a chunk ends at a paragraph end when that leaves it at least
half full, so paragraphs stay whole where they can without leaving chunks nearly
empty. A sentence over the budget is cut between words, a word over it (a URL,
CJK text without spaces) between characters. Each chunk starts with the last
`overlap` tokens of the one before, so text at a boundary is seen whole once.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

Count = Callable[[str], int]
Span = tuple[int, int]

# Kana and CJK ideographs count one token each: these scripts put no spaces between words.
_CJK = "\u3001-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff60"
_WORD = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+")
_NON_SPACE = re.compile(r"\S")
_BLANK_LINE = re.compile(r"\n\s*\n")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|[。！？]+[」』”’）]*")
# No tokenizer averages more characters per token on real text; bounds the text a search reads.
_MAX_CHARS_PER_TOKEN = 24


def approx_tokens(text: str) -> int:
    """About what a subword tokenizer gives for English: 1.3 tokens a word."""
    return math.ceil(len(_WORD.findall(text)) * 1.3)


def chunk_spans(text: str, budget: int, overlap: int, count: Count = approx_tokens) -> list[Span]:
    """Spans of `text` with count(text[start:end]) <= budget each (unless one character is over)."""
    base = count("")  # special tokens and prefix, paid once per chunk rather than per piece
    pieces = [p for para in _paragraphs(text) for p in _pieces(text, para, budget, count)]
    costs = [max(0, n - base) for _, _, n, _ in pieces]
    chunks: list[Span] = []
    i = 0
    while i < len(pieces):
        start, used = pieces[i][0], base
        if chunks and overlap:
            lead = _overlap_start(text, chunks[-1], overlap + base, count)
            if lead is not None:
                start, used = lead, count(text[lead:chunks[-1][1]])
        j, filled = i, {}
        while j < len(pieces) and used + costs[j] <= budget:
            used += costs[j]
            j += 1
            filled[j] = used
        if j == i:  # the overlap leaves no room for the next piece: start afresh
            start, j = pieces[i][0], i + 1
        elif j < len(pieces) and not pieces[j][3]:
            # end at the last paragraph end instead, if that leaves the chunk at least half full
            ends = [k for k in range(j - 1, i, -1) if pieces[k][3] and filled[k] >= budget / 2]
            j = ends[0] if ends else j
        # Costs add up exactly for most tokenizers; where they do not, the true count decides.
        while count(text[start:pieces[j - 1][1]]) > budget:
            if j > i + 1:
                j -= 1
            elif start != pieces[i][0]:
                start = pieces[i][0]
            else:
                break
        chunks.append((start, pieces[j - 1][1]))
        i = j
    return chunks


def _paragraphs(text: str) -> list[Span]:
    spans, pos = [], 0
    for m in _BLANK_LINE.finditer(text):
        spans += _trimmed(text, pos, m.start())
        pos = m.end()
    return spans + _trimmed(text, pos, len(text))


def _trimmed(text: str, start: int, end: int) -> list[Span]:
    piece = text[start:end]
    s = start + len(piece) - len(piece.lstrip())
    e = start + len(piece.rstrip())
    return [(s, e)] if s < e else []


def _pieces(text: str, para: Span, budget: int, count: Count) -> list[tuple[int, int, int, bool]]:
    """(start, end, tokens, starts a paragraph): the sentences, each cut further if over budget."""
    out = []
    for s, e in _sentences(text, para):
        n = count(text[s:e])
        if n <= budget:
            out.append((s, e, n, s == para[0]))
        else:
            out += [(a, b, count(text[a:b]), a == para[0])
                    for a, b in _cut(text, s, e, budget, count)]
    return out


def _sentences(text: str, span: Span) -> list[Span]:
    spans, pos = [], span[0]
    for m in _SENTENCE_END.finditer(text, span[0], span[1]):
        spans += _trimmed(text, pos, m.end())
        pos = m.end()
    return spans + _trimmed(text, pos, span[1])


def _cut(text: str, start: int, end: int, budget: int, count: Count) -> list[Span]:
    """Longest runs of whole words that fit; a word longer than the budget is cut anywhere."""
    out = []
    cur = start
    while cur < end:
        window = min(end, cur + budget * _MAX_CHARS_PER_TOKEN)
        ends = [m.end() for m in _WORD.finditer(text, cur, window)]
        if window < end and ends and ends[-1] == window:
            ends.pop()  # that word may go on past the window
        stop = _last_fitting(text, cur, ends, budget, count)
        if stop is None:
            first = ends[0] if ends else window
            stop = _last_fitting(text, cur, range(cur + 1, first + 1), budget, count) or cur + 1
        out.append((cur, stop))
        following = _NON_SPACE.search(text, stop, end)
        cur = following.start() if following else end
    return out


def _last_fitting(text: str, start: int, stops: Sequence[int], budget: int,
                  count: Count) -> int | None:
    """The largest stop with text[start:stop] within budget (counts grow with the stop)."""
    lo, hi = 0, len(stops)
    while lo < hi:
        mid = (lo + hi) // 2
        if count(text[start:stops[mid]]) <= budget:
            lo = mid + 1
        else:
            hi = mid
    return stops[lo - 1] if lo else None


def _overlap_start(text: str, prev: Span, overlap: int, count: Count) -> int | None:
    """Where the previous chunk's tail of at most `overlap` counted tokens begins, at a word."""
    start, end = prev
    window = max(start + 1, end - overlap * _MAX_CHARS_PER_TOKEN)
    starts = [m.start() for m in _WORD.finditer(text, window, end)]
    lo, hi = 0, len(starts)
    while lo < hi:  # the first start whose tail fits
        mid = (lo + hi) // 2
        if count(text[starts[mid]:end]) <= overlap:
            hi = mid
        else:
            lo = mid + 1
    return starts[lo] if lo < len(starts) else None
