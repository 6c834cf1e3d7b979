"""Colours of the map: palettes for categories, LUTs for values, and how values meet a LUT."""

from __future__ import annotations

import zlib
from functools import lru_cache

import numpy as np

OUTLINE_DARKEN = 0.55
OTHER_GREY = (150, 150, 150, 255)



# viridis (matplotlib's, CC0), control points every 8 entries plus two near
# the end, interpolated linearly to 256 entries (within ~1/255 of the original).
_VIRIDIS_POINTS = (
    (0, 0.267004, 0.004874, 0.329415), (8, 0.277018, 0.050344, 0.375715),
    (16, 0.282327, 0.094955, 0.417331), (24, 0.282884, 0.135920, 0.453427),
    (32, 0.278826, 0.175490, 0.483397), (40, 0.270595, 0.214069, 0.507052),
    (48, 0.258965, 0.251537, 0.524736), (56, 0.244972, 0.287675, 0.537260),
    (64, 0.229739, 0.322361, 0.545706), (72, 0.214298, 0.355619, 0.551184),
    (80, 0.199430, 0.387607, 0.554642), (88, 0.185556, 0.418570, 0.556753),
    (96, 0.172719, 0.448791, 0.557885), (104, 0.160665, 0.478540, 0.558115),
    (112, 0.149039, 0.508051, 0.557250), (120, 0.137770, 0.537492, 0.554906),
    (128, 0.127568, 0.566949, 0.550556), (136, 0.120565, 0.596422, 0.543611),
    (144, 0.120638, 0.625828, 0.533488), (152, 0.132268, 0.655014, 0.519661),
    (160, 0.157851, 0.683765, 0.501686), (168, 0.196571, 0.711827, 0.479221),
    (176, 0.246070, 0.738910, 0.452024), (184, 0.304148, 0.764704, 0.419943),
    (192, 0.369214, 0.788888, 0.382914), (200, 0.440137, 0.811138, 0.340967),
    (208, 0.515992, 0.831158, 0.294279), (216, 0.595839, 0.848717, 0.243329),
    (224, 0.678489, 0.863742, 0.189503), (232, 0.762373, 0.876424, 0.137064),
    (240, 0.845561, 0.887322, 0.099702), (244, 0.886271, 0.892374, 0.095374),
    (248, 0.926106, 0.897330, 0.104071), (252, 0.964894, 0.902323, 0.123941),
    (255, 0.993248, 0.906157, 0.143936),
)


def lut_from_points(points) -> np.ndarray:
    """A (256, 4) uint8 LUT from control points (index 0..255, r, g, b in 0..1), linear in between."""
    p = np.asarray(points, dtype=np.float64)
    idx = np.arange(256, dtype=np.float64)
    lut = np.empty((256, 4), dtype=np.uint8)
    for ch in range(3):
        lut[:, ch] = np.rint(np.clip(np.interp(idx, p[:, 0], p[:, ch + 1]), 0, 1) * 255)
    lut[:, 3] = 255
    return lut


VIRIDIS = lut_from_points(_VIRIDIS_POINTS)
VIRIDIS.setflags(write=False)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


def ciede2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between CIELAB colours (broadcasting over leading axes).

    Unlike plain CIELAB distance (delta E 76) it does not inflate differences among blues,
    which is how a palette picked by delta E 76 ended up with several similar blues.
    Checked against Sharma, Wu & Dalal's published test pairs.
    """
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c_bar = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    g = 0.5 * (1 - np.sqrt(c_bar ** 7 / (c_bar ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    achromatic = c1p * c2p == 0
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(achromatic, 0.0, dh)
    d_l, d_c = L2 - L1, c2p - c1p
    d_h = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar, cp_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = np.where(achromatic, h_sum, np.where(np.abs(h1p - h2p) <= 180, h_sum / 2,
                                                 np.where(h_sum < 360, (h_sum + 360) / 2,
                                                          (h_sum - 360) / 2)))
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.20 * np.cos(np.radians(4 * h_bar - 63)))
    d_theta = 30 * np.exp(-((h_bar - 275) / 25) ** 2)
    r_c = 2 * np.sqrt(cp_bar ** 7 / (cp_bar ** 7 + 25.0 ** 7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c = 1 + 0.045 * cp_bar
    s_h = 1 + 0.015 * cp_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    return np.sqrt((d_l / s_l) ** 2 + (d_c / s_c) ** 2 + (d_h / s_h) ** 2
                   + r_t * (d_c / s_c) * (d_h / s_h))


# What the categorical palette is picked from: sRGB colours on a 20-level grid whose CIELAB
# lightness reads on a white and on a dark map (40-82) and whose chroma keeps them apart
# from the grey of "(other)" without the most garish primaries (25-95).
PALETTE_LIGHTNESS = (40.0, 82.0)
PALETTE_CHROMA = (25.0, 95.0)
# The colours every pick is kept away from: both backgrounds, the grey of "(other)".
PALETTE_AVOID = ((255, 255, 255), (0, 0, 0), (30, 30, 30), OTHER_GREY[:3])


@lru_cache(maxsize=8)
def _glasbey(k: int) -> np.ndarray:
    """k colours picked greedily, each the candidate farthest (CIEDE2000) from every colour
    picked before it and from PALETTE_AVOID: Glasbey et al.'s method (2007) with CIEDE2000
    for their CIELAB distance. Deterministic (ties go to the first candidate), so the
    palette is the same on every machine and in every session; about 20 ms."""
    levels = np.linspace(0, 255, 20)
    cand = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    lab = srgb_to_lab(cand)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    ok = ((lab[:, 0] >= PALETTE_LIGHTNESS[0]) & (lab[:, 0] <= PALETTE_LIGHTNESS[1])
          & (chroma >= PALETTE_CHROMA[0]) & (chroma <= PALETTE_CHROMA[1]))
    cand, lab = cand[ok], lab[ok]
    avoid = srgb_to_lab(np.array(PALETTE_AVOID, dtype=np.float64))
    dist = np.min(ciede2000(lab[:, None, :], avoid[None, :, :]), axis=1)
    chosen = []
    for _ in range(min(k, len(cand))):
        j = int(np.argmax(dist))
        chosen.append(cand[j])
        dist = np.minimum(dist, ciede2000(lab, lab[j]))
    out = np.rint(np.array(chosen, dtype=np.float64).reshape(-1, 3)).astype(np.uint8)
    out.setflags(write=False)
    return out


def categorical_palette(k: int, *, other: bool = False) -> np.ndarray:
    """(k, 4) uint8 RGBA colours for k categories, plus OTHER_GREY last when other=True.

    Glasbey-style (see `_glasbey`): the first k of one fixed sequence, each as far as
    possible from those before it, so any prefix is well separated (CIEDE2000 >= 18 among
    the first 20).
    """
    k = int(k)
    if k < 0:
        raise ValueError("k must be >= 0")
    rgb = _glasbey(k) if k else np.empty((0, 3), dtype=np.uint8)
    pal = np.empty((k + bool(other), 4), dtype=np.uint8)
    pal[:k, :3] = rgb
    pal[:k, 3] = 255
    if other:
        pal[k] = OTHER_GREY
    return pal


PALETTE_SIZE = 20  # colours a category's value is hashed into (more only for more categories)


def category_palette(labels: list[str], grey: frozenset[str] = frozenset()) -> np.ndarray:
    """(len(labels), 4) RGBA: each label's colour chosen by its value, not its position.

    A label hashes (CRC-32 of its text, the same in every process) to a slot of the
    PALETTE_SIZE-colour palette; a slot taken by a label listed earlier (give the most
    common first) passes on to the next free one. So "games" has the same colour in every
    session and every set whatever else the column holds, as long as it does not collide
    with a more common value. Labels in `grey` ("(other)", "(missing)") get OTHER_GREY.
    """
    coloured = [str(label) for label in labels if label not in grey]
    size = max(PALETTE_SIZE, len(coloured))
    colours = categorical_palette(size)
    taken = np.zeros(size, dtype=bool)
    pal = np.empty((len(labels), 4), dtype=np.uint8)
    for code, label in enumerate(labels):
        if label in grey:
            pal[code] = OTHER_GREY
            continue
        slot = zlib.crc32(str(label).encode("utf-8")) % size
        while taken[slot]:
            slot = (slot + 1) % size
        taken[slot] = True
        pal[code] = colours[slot]
    return pal


def rgba(colours, name="palette") -> np.ndarray:
    c = np.asarray(colours)
    if c.ndim != 2 or c.shape[1] not in (3, 4):
        raise ValueError(f"{name} must have shape (k, 3) or (k, 4), got {c.shape}")
    if c.dtype != np.uint8:
        c = np.clip(np.rint(c), 0, 255).astype(np.uint8)
    if c.shape[1] == 3:
        c = np.concatenate([c, np.full((len(c), 1), 255, np.uint8)], axis=1)
    return np.ascontiguousarray(c)


def darker(pal: np.ndarray, factor: float = OUTLINE_DARKEN) -> np.ndarray:
    out = pal.copy()
    out[:, :3] = np.rint(pal[:, :3] * factor).astype(np.uint8)
    return out


def finite_range(vals: np.ndarray, value_range) -> tuple[float, float]:
    if value_range is not None:
        vmin, vmax = (float(v) for v in value_range)
    else:
        finite = vals[np.isfinite(vals)] if not np.isfinite(vals).all() else vals
        if len(finite) == 0:
            return 0.0, 1.0
        vmin, vmax = float(finite.min()), float(finite.max())
    return vmin, vmax


def lut_index(v: np.ndarray, vmin: float, vmax: float, k: int = 256) -> np.ndarray:
    """Values to LUT rows: [vmin, vmax] split in k equal bins, clipped at the ends."""
    if not vmax > vmin:
        return np.full(len(v), k // 2, dtype=np.intp)
    s = (np.asarray(v, dtype=np.float64) - vmin) * (k / (vmax - vmin))
    np.clip(s, 0, k - 1, out=s)
    return s.astype(np.intp)
