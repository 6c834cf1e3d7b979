"""The Axis tab's validity line: how far a direction can be trusted, in words and numbers.

Kept apart from the widget so the same wording serves the rich label (each
number a link to what it means) and the plain text tests read. `fmt` writes a
number the way the whole tab does.
"""

from __future__ import annotations


def fmt(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if abs(x) >= 10 ** -digits or x == 0 else f"{x:.2g}"


def p_text(p: float) -> str:
    if p == 0:
        return "p < 1e-300"
    return f"p = {p:.3f}" if p >= 0.001 else f"p = {p:.0e}"


def validity_tokens(d, v) -> tuple[list, list[str]]:
    """The validity line as plain texts and (number, what it means) pairs, and the warnings."""
    if v is None:
        return ["Not checked yet: choose a column under “Against” (or “(none)”) to check "
                "it."], []
    a, b = d.label_a, d.label_b
    out: list = []
    if v.heldout_accuracy is not None:
        out += ["held-out accuracy ", (fmt(v.heldout_accuracy, 2),
                f"The share of held-out items ({v.folds}-fold cross-validation, the direction "
                "rebuilt on each training part) that land on their own group's side of the "
                "split; 0.5 is chance.")]
        if v.n_a != v.n_b and v.heldout_balanced_accuracy is not None:
            out += [" (balanced ", (fmt(v.heldout_balanced_accuracy, 2),
                    "The accuracy averaged over the two groups, so the larger group cannot "
                    "carry it; 0.5 is chance."), ")"]
        out += [", ", (f"{v.folds} folds", "How many parts the groups were split into, each "
                                            "held out once."),
                ", ", (f"{v.n_a:,} vs {v.n_b:,} items",
                       f"The items of “{a}” (A) and of “{b}” (B) behind the accuracy"
                       + (", sampled from larger groups." if v.groups_sampled else "."))]
    elif v.pole_accuracy is not None:
        right = int(round(v.pole_accuracy * v.pole_texts))
        out += ["pole texts on their own side ", (f"{right} of {v.pole_texts}",
                "Each pole text, left out in turn, is placed by the other texts: how many fall "
                "on their own pole's side of the midpoint.")]
    elif d.method == "texts":
        out += ["the pole-text check needs two texts per pole"]
    else:
        out += ["no groups to check it on"]
    if v.against:
        if v.spearman is None:
            out += [f" · Spearman with {v.against}: not defined (a constant column or too few "
                    "values)"]
        else:
            out += [f" · Spearman with {v.against} ", (f"ρ = {v.spearman:+.2f}",
                    f"The rank correlation of the items' scores with {v.against}: +1 when the "
                    "scores rise with it, 0 when they do not follow it.")]
            if v.spearman_p is not None:
                out += [" (", (p_text(v.spearman_p), "The chance of a correlation at least this "
                               f"strong if the scores and {v.against} were unrelated."), ", "]
            else:
                out += [" ("]
            out += [(f"n = {v.spearman_rows:,}", f"The items with a value in {v.against} behind "
                     "the correlation" + (" (a sample)." if v.rows_sampled else ".")), ")"]
    if v.norm_spearman is not None:
        out += [" · length ", (f"ρ = {v.norm_spearman:+.2f}",
                "The rank correlation of the scores with the items' vector lengths: near 0 means "
                "the direction does not measure length.")]
    if v.mean_cosine is not None:
        out += [" · mean-vector cos ", (fmt(v.mean_cosine, 2),
                "The direction's cosine with the set's mean vector: near 0 means the scores do "
                "not just measure how typical an item is.")]
    return out, list(v.warnings)


def validity_plain(d, v) -> str:
    """The validity line without markup (what the label reads as)."""
    tokens, _ = validity_tokens(d, v)
    return "".join(t if isinstance(t, str) else t[0] for t in tokens)
