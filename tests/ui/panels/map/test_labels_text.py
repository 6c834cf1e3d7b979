"""A label's text image holds all of its letters and halo: nothing is cut at its box's edge,
whatever the glyphs (a bold "f" or "j" reaches past its advance, accents above the line)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.ui.panels.map.labels import text_image, text_size

TEXTS = ["haskell, profiling, ruby", "gnu, fortran, compiler", "WWWff, jjj, yyy",
         "élan, ÿgg, Ωmega", "x"]


def alpha(image) -> np.ndarray:
    rows = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), -1, 4)
    return rows[:, :image.width(), 3]


@pytest.mark.parametrize("ratio", [1.0, 2.0])
@pytest.mark.parametrize("dark", [False, True])
def test_nothing_of_a_label_touches_its_box_edge(qapp, ratio, dark):
    for level in (0, 1, 2):
        for text in TEXTS:
            image = text_image(text, level, dark, ratio)
            a = alpha(image)
            assert a.max() > 0  # something is drawn
            border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
            assert border.max() == 0, (text, level, ratio)
            w, h = text_size(text, level)
            assert (image.width(), image.height()) == (int(np.ceil(w * ratio)),
                                                       int(np.ceil(h * ratio)))


def test_labels_of_a_level_share_their_height(qapp):
    """The box follows the line, not each word's letters, so labels line up."""
    for level in (0, 1, 2):
        assert len({text_size(t, level)[1] for t in ["ruby", "aaa", "python, tools"]}) == 1
