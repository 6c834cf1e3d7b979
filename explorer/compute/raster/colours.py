"""Colours of the map: palettes for categories, LUTs for values, and how values meet a LUT."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

OUTLINE_DARKEN = 0.55
OTHER_GREY = (150, 150, 150, 255)

# Tableau 10 without its grey (which "other" would clash with).
TABLEAU10 = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
             "#edc948", "#b07aa1", "#ff9da7", "#9c755f")


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


def _hex_rgba(h: str) -> tuple[int, int, int, int]:
    h = h.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255


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


@lru_cache(maxsize=8)
def _glasbey(k: int) -> np.ndarray:
    """k distinct colours: Tableau 10's nine, then greedy farthest-point picks in CIELAB
    (glasbey-like) among mid-lightness, saturated sRGB colours, kept away from grey."""
    fixed = np.array([_hex_rgba(h)[:3] for h in TABLEAU10], dtype=np.float64)
    if k <= len(fixed):
        return fixed[:k].astype(np.uint8)
    levels = np.linspace(0, 255, 18)
    cand = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1).reshape(-1, 3)
    lab = srgb_to_lab(cand)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    ok = (lab[:, 0] > 35) & (lab[:, 0] < 88) & (chroma > 30)
    cand, lab = cand[ok], lab[ok]
    avoid = np.vstack([srgb_to_lab(fixed), srgb_to_lab(np.array([OTHER_GREY[:3]], dtype=np.float64)),
                       srgb_to_lab(np.array([[255.0, 255, 255], [0, 0, 0]]))])
    dist = np.min(((lab[:, None, :] - avoid[None, :, :]) ** 2).sum(-1), axis=1)
    chosen = [c for c in fixed]
    while len(chosen) < k:
        j = int(np.argmax(dist))
        chosen.append(cand[j])
        dist = np.minimum(dist, ((lab - lab[j]) ** 2).sum(-1))
    return np.rint(np.array(chosen)).astype(np.uint8)


def categorical_palette(k: int, *, other: bool = False) -> np.ndarray:
    """(k, 4) uint8 RGBA colours for k categories, plus OTHER_GREY last when other=True.

    The first nine are Tableau 10's; beyond, glasbey-like picks that stay
    distinguishable (in CIELAB) from the earlier ones and from grey.
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
