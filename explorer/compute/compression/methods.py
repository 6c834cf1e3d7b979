"""Compression methods by name: what each one is and its exact bytes per vector.

A name is a codec, a transform, or a transform then a codec:

  codecs      fp16 | sq8 | sq6 | sq4        scalar quantisation (faiss IndexScalarQuantizer)
              pqM                           product quantisation, M sub-quantizers x 8 bits
              opqM                          OPQ rotation + pqM
              binary                        sign codes of the centred rows, Hamming distance
              binary-rerankR                binary, then the top R re-ranked with float32 rows
  transforms  truncT                        the first T dimensions (Matryoshka prefix)
              pcaT                          projection on the top T principal directions
              rpT                           Gaussian random projection to T dimensions
  combined    pca96-sq8, trunc192-pq24, rp128-binary ...

A transform alone keeps float32 values (4 bytes per kept dimension). A plugin's codec
(a "compression" contribution, see explorer.plugins) is named exactly as it declares, alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from explorer import plugins
from explorer.core.errors import InputError

TRANSFORMS = ("trunc", "pca", "rp")
VALID_FORMS = ("fp16", "sq8", "sq6", "sq4", "pqM", "opqM", "binary", "binary-rerankR",
               "truncT", "pcaT", "rpT", "<truncT|pcaT|rpT>-<codec>")
SQ_BITS = {"fp16": 16, "sq8": 8, "sq6": 6, "sq4": 4}

_TRANSFORM = re.compile(r"^(?P<transform>trunc|pca|rp)(?P<tdim>\d+)(?:-(?P<rest>.+))?$")
_CODEC = re.compile(r"^(?P<codec>fp16|sq8|sq6|sq4|o?pq(?P<m>\d+)"
                    r"|binary(?:-rerank(?P<rerank>\d+))?)$")


@dataclass(frozen=True)
class Method:
    """One compression: an optional transform to `tdim` dimensions, then a codec."""

    name: str
    transform: str | None = None  # "trunc" | "pca" | "rp" | None
    tdim: int | None = None  # dimensions after the transform (None: the set's)
    codec: str = "flat"  # "flat" (float32) | fp16 | sq8 | sq6 | sq4 | pq | opq | binary | a plugin's
    m: int = 0  # pq / opq sub-quantizers (8 bits each)
    rerank: int = 0  # binary: candidates re-ranked with the float32 rows (0: none)

    def dims(self, d: int) -> int:
        """Dimensions the codec sees for a set of dimension d."""
        return self.tdim if self.tdim is not None else d

    def bytes_per_vector(self, d: int) -> int:
        """Bytes of one vector's code, exactly as faiss stores it (sa_code_size)."""
        t = self.dims(d)
        if self.codec == "flat":
            return 4 * t
        if self.codec in SQ_BITS:
            return (SQ_BITS[self.codec] * t + 7) // 8
        if self.codec in ("pq", "opq"):
            return self.m  # M codes of 8 bits
        if self.codec == "binary":
            return (t + 7) // 8
        raise AssertionError(self.codec)

    def check(self, d: int) -> None:
        """InputError when the method does not fit a set of dimension d."""
        t = self.dims(d)
        if self.tdim is not None and not 1 <= self.tdim <= d:
            raise InputError(f"method {self.name!r}: {self.transform} needs 1..{d} dimensions "
                             f"for this set, got {self.tdim}")
        if self.codec in ("pq", "opq") and (self.m < 1 or t % self.m):
            raise InputError(f"method {self.name!r}: {self.m} sub-quantizers must divide the "
                             f"{t} dimensions (e.g. {', '.join(map(str, divisors(t)[-4:]))})")
        if self.codec == "binary" and self.rerank == 0 and "rerank" in self.name:
            raise InputError(f"method {self.name!r}: re-rank at least 1 candidate")


def divisors(t: int) -> list[int]:
    return [m for m in range(1, t + 1) if t % m == 0]


def parse_method(name: str) -> Method:
    """The Method a name stands for; InputError naming the bad name and the valid forms."""
    text = str(name).strip().lower()
    g = {"transform": None, "tdim": None, "codec": None, "m": None, "rerank": None}
    t = _TRANSFORM.match(text)
    if t:
        g.update(transform=t["transform"], tdim=t["tdim"])
    rest = (t["rest"] if t else text)
    c = _CODEC.match(rest) if rest is not None else None
    if c:
        g.update(codec=c["codec"], m=c["m"], rerank=c["rerank"])
    if not (t or c) or (rest is not None and not c):
        found = _plugin_method(text)
        if found is not None:
            return found
        others = [e.spec.name for e in plugins.registry().of_kind("compression")
                  if not e.origin.builtin]
        raise InputError(f"unknown compression method {str(name)!r}; valid forms: "
                         f"{', '.join(VALID_FORMS)} (M, T, R are numbers, e.g. pq16, pca96-sq8, "
                         "binary-rerank100)" + (f"; from plugins: {', '.join(others)}"
                                                if others else ""))
    codec = g["codec"] or "flat"
    m = int(g["m"]) if g["m"] else 0
    if codec.startswith("opq"):
        codec = "opq"
    elif codec.startswith("pq"):
        codec = "pq"
    elif codec.startswith("binary"):
        codec = "binary"
    tdim = int(g["tdim"]) if g["tdim"] else None
    if tdim == 0:
        raise InputError(f"method {str(name)!r}: a transform keeps at least 1 dimension")
    return Method(name=text, transform=g["transform"], tdim=tdim, codec=codec, m=m,
                  rerank=int(g["rerank"]) if g["rerank"] else 0)


def _plugin_method(text: str) -> Method | None:
    """A plugin's codec, by the exact name it declares (codecs.make_codec builds it)."""
    entry = plugins.registry().find("compression", text)
    if entry is None or entry.origin.builtin:
        return None
    return Method(name=text, codec=text)


def parse_methods(names) -> list[Method]:
    """Methods from a list or a comma-separated string (duplicates dropped, order kept)."""
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    out: dict[str, Method] = {}
    for n in names:
        method = n if isinstance(n, Method) else parse_method(n)
        out.setdefault(method.name, method)
    if not out:
        raise InputError("no compression methods given")
    return list(out.values())


def _pq_m(d: int, bytes_wanted: float) -> int:
    """The divisor of d closest to `bytes_wanted` sub-quantizers (at least 1)."""
    return min(divisors(d), key=lambda m: (abs(m - bytes_wanted), m))


def default_methods(d: int) -> list[Method]:
    """The default sweep: fp16, sq8, sq4, PQ at d/8 and d/24 bytes, OPQ at d/8 (its training
    costs most of a sweep: a smaller OPQ is one name away), binary (+re-rank 100),
    truncation to d/2 and d/4, PCA to d/4 alone and with sq8."""
    names = ["fp16", "sq8", "sq4"]
    pqs = list(dict.fromkeys([_pq_m(d, d / 8), _pq_m(d, d / 24)]))
    names += [f"pq{m}" for m in pqs] + [f"opq{pqs[0]}"]
    names += ["binary", "binary-rerank100"]
    for t in dict.fromkeys([max(1, d // 2), max(1, d // 4)]):
        names.append(f"trunc{t}")
    names += [f"pca{max(1, d // 4)}", f"pca{max(1, d // 4)}-sq8"]
    return parse_methods(names)
