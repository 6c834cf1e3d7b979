"""Damaged images of every format read (issue 14's fuzzing, for issue 21's thumbnails): byte
flips, truncation, inserted and deleted runs, header integers set huge or zero. Each case
gives a JPEG thumbnail or `BadImage` with a reason: never another exception, never a hang
(pytest's timeout). Seeded per format, so a failure repeats.

    EXPLORER_FUZZ_EXAMPLES  cases per format (default 60; raise it for a deep run)
"""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as hs
from image_files import encoded, picture
from PIL import Image

from explorer.compute import thumbnails as th

EXAMPLES = int(os.environ.get("EXPLORER_FUZZ_EXAMPLES", "60"))
RGB = picture(np.random.default_rng(14), 90, 60)
VALID = {
    "png": encoded(RGB, "PNG"),
    "jpeg": encoded(RGB, "JPEG", quality=80),
    "webp": encoded(RGB, "WEBP", quality=80),
    "gif": encoded(RGB.convert("P"), "GIF"),
    "tiff": encoded(RGB, "TIFF", compression="tiff_deflate"),
    "bmp": encoded(RGB, "BMP"),
}

op = hs.one_of(
    hs.tuples(hs.just("flip"), hs.integers(0, 10**6), hs.integers(1, 255)),
    hs.tuples(hs.just("cut"), hs.integers(0, 10**6)),
    hs.tuples(hs.just("insert"), hs.integers(0, 10**6), hs.binary(min_size=1, max_size=64)),
    hs.tuples(hs.just("delete"), hs.integers(0, 10**6), hs.integers(1, 64)),
    hs.tuples(hs.just("int"), hs.integers(0, 10**6),
              hs.sampled_from([0, 1, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF])),
)


def apply(data: bytes, ops: list) -> bytes:
    out = bytearray(data)
    for kind, at, *rest in ops:
        at = at % max(1, len(out))
        if kind == "flip" and out:
            out[at] ^= rest[0]
        elif kind == "cut":
            del out[at:]
        elif kind == "insert":
            out[at:at] = rest[0]
        elif kind == "delete":
            del out[at:at + rest[0]]
        elif kind == "int" and len(out) >= at + 4:
            out[at:at + 4] = struct.pack(">I", rest[0])
    return bytes(out)


@pytest.mark.parametrize("fmt", sorted(VALID))
def test_a_damaged_image_gives_a_thumbnail_or_a_reason(fmt):
    original = VALID[fmt]
    assert Image.open(io.BytesIO(th.thumbnail_jpeg(original, 64))).size == (64, 43)

    @seed(zlib.crc32(f"fuzz-images:{fmt}".encode()))
    @settings(max_examples=EXAMPLES, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(ops=hs.lists(op, min_size=1, max_size=4))
    def case(ops):
        try:
            thumb = th.thumbnail_jpeg(apply(original, ops), 64)
        except th.BadImage as exc:
            assert str(exc) and len(str(exc)) < 200
            return
        im = Image.open(io.BytesIO(thumb))
        assert im.format == "JPEG" and max(im.size) <= 64

    case()
