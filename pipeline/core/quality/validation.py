"""Two windows of observations compared feature by feature: training-serving skew, drift.

A :class:`Profile` holds each feature's values in one window (what a batch model was
trained on, last week...); :func:`compare` sets a current window against a reference one
and says, per feature, what changed and whether that is worth a look:

- **missing**: the share of observations without the feature moved by ``missing_delta``
  or more (absent and ``None`` are both missing);
- **distribution**: the population stability index (PSI) of the shares is
  ``psi_threshold`` or more. Numbers are binned at the reference's deciles, text values
  by category (:func:`driftline.core.drift.psi.population_stability_index`);
- **test**: a two-sample test rejects sameness at ``alpha`` *and* the effect is not
  trivial: Kolmogorov-Smirnov for numbers (its statistic D at least ``min_effect``),
  chi-square for categories (Cramer's V at least ``min_effect``). With windows of
  thousands, a p-value alone flags differences too small to matter;
- **range**: more than ``outside_share`` of the current numbers lie outside the
  reference's range;
- **new categories**: more than ``outside_share`` of the current text values are
  categories the reference never had.

>>> import random
>>> rng = random.Random(1)
>>> ref = Profile.of([{"x": rng.gauss(0, 1), "c": rng.choice("ab")} for _ in range(2000)])
>>> cur = Profile.of([{"x": rng.gauss(1, 1), "c": rng.choice("ab")} for _ in range(2000)])
>>> [(c.feature, c.flags) for c in compare(ref, cur)]
[('x', ['distribution', 'test']), ('c', [])]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

from driftline.core.drift.psi import population_stability_index

__all__ = ["Comparison", "FeatureColumn", "Profile", "compare"]

Kind = Literal["numeric", "category"]

#: Categories shown (and compared one by one) per feature; the rest are one "other" bin.
TOP_CATEGORIES = 20
_OTHER = "(other)"


@dataclass
class FeatureColumn:
    """One feature's values in a window: numbers, or text counts."""

    numbers: list[float] = field(default_factory=list)
    texts: Counter[str] = field(default_factory=Counter)
    missing: int = 0

    @property
    def present(self) -> int:
        return len(self.numbers) + sum(self.texts.values())

    @property
    def kind(self) -> Kind:
        return "category" if sum(self.texts.values()) > len(self.numbers) else "numeric"


@dataclass
class Profile:
    """Every feature of the observations of one window."""

    observations: int = 0
    columns: dict[str, FeatureColumn] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Iterable[Mapping[str, Any]]) -> Profile:
        profile = cls()
        for row in rows:
            profile.add(row)
        return profile

    def add(self, features: Mapping[str, Any]) -> None:
        """One observation's features (a feature it lacks counts as missing)."""
        self.observations += 1
        for name, value in features.items():
            column = self.columns.get(name)
            if column is None:
                column = self.columns[name] = FeatureColumn(missing=self.observations - 1)
            if value is None or (isinstance(value, float) and not math.isfinite(value)):
                column.missing += 1
            elif isinstance(value, bool | str):
                column.texts[str(value)] += 1
            else:
                column.numbers.append(float(value))
        for name, column in self.columns.items():
            if name not in features:
                column.missing += 1

    def column(self, name: str) -> FeatureColumn:
        """The feature's column; a feature never seen is missing from every observation."""
        return self.columns.get(name) or FeatureColumn(missing=self.observations)


@dataclass(frozen=True)
class Comparison:
    """What changed in one feature between the reference and the current window."""

    feature: str
    kind: Kind
    reference_n: int
    current_n: int
    missing_reference: float
    missing_current: float
    psi: float | None
    test: str | None
    statistic: float | None
    p_value: float | None
    effect: float | None
    range_reference: tuple[float, float] | None
    range_current: tuple[float, float] | None
    outside_share: float | None
    #: The bins the PSI was computed on, with the reference's and the current shares.
    bins: list[str]
    shares_reference: list[float]
    shares_current: list[float]
    flags: list[str]

    @property
    def flagged(self) -> bool:
        return bool(self.flags)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "kind": self.kind,
            "flagged": self.flagged,
            "flags": self.flags,
            "reference_n": self.reference_n,
            "current_n": self.current_n,
            "missing_reference": _r(self.missing_reference),
            "missing_current": _r(self.missing_current),
            "psi": _r(self.psi),
            "test": self.test,
            "statistic": _r(self.statistic),
            "p_value": None if self.p_value is None else float(f"{self.p_value:.4g}"),
            "effect": _r(self.effect),
            "range_reference": None if self.range_reference is None else list(self.range_reference),
            "range_current": None if self.range_current is None else list(self.range_current),
            "outside_share": _r(self.outside_share),
            "bins": self.bins,
            "shares_reference": [_r(s) for s in self.shares_reference],
            "shares_current": [_r(s) for s in self.shares_current],
        }


def _r(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 4)


def compare(
    reference: Profile,
    current: Profile,
    *,
    psi_threshold: float = 0.25,
    missing_delta: float = 0.05,
    alpha: float = 0.001,
    min_effect: float = 0.1,
    outside_share: float = 0.01,
) -> list[Comparison]:
    """Each feature of either window compared (in the reference's order, then new ones)."""
    names = list(reference.columns) + [n for n in current.columns if n not in reference.columns]
    found = []
    for name in names:
        ref, cur = reference.column(name), current.column(name)
        kind: Kind = "category" if ref.kind == "category" or cur.kind == "category" else "numeric"
        miss_ref = ref.missing / reference.observations if reference.observations else 0.0
        miss_cur = cur.missing / current.observations if current.observations else 0.0
        flags = []
        if abs(miss_cur - miss_ref) >= missing_delta:
            flags.append("missing")
        if kind == "numeric":
            detail = _numeric(ref.numbers, cur.numbers)
        else:
            detail = _categories(_texts(ref), _texts(cur))
        if detail["psi"] is not None and detail["psi"] >= psi_threshold:
            flags.append("distribution")
        if (
            detail["p_value"] is not None
            and detail["p_value"] < alpha
            and (detail["effect"] or 0.0) >= min_effect
        ):
            flags.append("test")
        if detail["outside"] is not None and detail["outside"] > outside_share:
            flags.append("range" if kind == "numeric" else "new categories")
        found.append(
            Comparison(
                feature=name,
                kind=kind,
                reference_n=ref.present,
                current_n=cur.present,
                missing_reference=miss_ref,
                missing_current=miss_cur,
                psi=detail["psi"],
                test=detail["test"],
                statistic=detail["statistic"],
                p_value=detail["p_value"],
                effect=detail["effect"],
                range_reference=detail.get("range_reference"),
                range_current=detail.get("range_current"),
                outside_share=detail["outside"],
                bins=detail["bins"],
                shares_reference=detail["shares_reference"],
                shares_current=detail["shares_current"],
                flags=flags,
            )
        )
    return found


def _texts(column: FeatureColumn) -> Counter[str]:
    """Text counts; numbers in a text feature count as their text."""
    counts = Counter(column.texts)
    for value in column.numbers:
        counts[f"{value:g}"] += 1
    return counts


def _shares(counts: Mapping[str, int], bins: list[str]) -> list[float]:
    total = sum(counts.get(b, 0) for b in bins)
    return [counts.get(b, 0) / total if total else 0.0 for b in bins]


def _nothing() -> dict[str, Any]:
    """What a comparison says when one window has no value of the feature."""
    return {
        "psi": None,
        "test": None,
        "statistic": None,
        "p_value": None,
        "effect": None,
        "outside": None,
        "bins": [],
        "shares_reference": [],
        "shares_current": [],
    }


def _numeric(ref: list[float], cur: list[float]) -> dict[str, Any]:
    if not ref or not cur:
        return _nothing()
    a, b = np.asarray(ref, dtype=float), np.asarray(cur, dtype=float)
    edges = np.unique(np.quantile(a, np.linspace(0.1, 0.9, 9)))
    ref_bins = np.searchsorted(edges, a, side="right")
    cur_bins = np.searchsorted(edges, b, side="right")
    labels = [
        f"< {edges[0]:g}"
        if i == 0
        else f">= {edges[-1]:g}"
        if i == len(edges)
        else f"[{edges[i - 1]:g}, {edges[i]:g})"
        for i in range(len(edges) + 1)
    ]
    ref_counts = Counter(
        {labels[i]: int(n) for i, n in enumerate(np.bincount(ref_bins, minlength=len(labels)))}
    )
    cur_counts = Counter(
        {labels[i]: int(n) for i, n in enumerate(np.bincount(cur_bins, minlength=len(labels)))}
    )
    psi = population_stability_index(cur_counts, ref_counts)
    test = stats.ks_2samp(a, b)
    low, high = float(a.min()), float(a.max())
    outside = float(np.mean((b < low) | (b > high)))
    return {
        "psi": psi,
        "test": "Kolmogorov-Smirnov",
        "statistic": float(test.statistic),
        "p_value": float(test.pvalue),
        "effect": float(test.statistic),
        "outside": outside,
        "range_reference": (low, high),
        "range_current": (float(b.min()), float(b.max())),
        "bins": labels,
        "shares_reference": _shares(ref_counts, labels),
        "shares_current": _shares(cur_counts, labels),
    }


def _categories(ref: Counter[str], cur: Counter[str]) -> dict[str, Any]:
    if not ref or not cur:
        return _nothing()
    top = [c for c, _ in (ref + cur).most_common(TOP_CATEGORIES)]
    top.sort()

    def folded(counts: Counter[str]) -> Counter[str]:
        out: Counter[str] = Counter()
        for category, n in counts.items():
            out[category if category in top else _OTHER] += n
        return out

    ref_f, cur_f = folded(ref), folded(cur)
    bins = top + ([_OTHER] if _OTHER in ref_f or _OTHER in cur_f else [])
    psi = population_stability_index(cur_f, ref_f)
    table = np.array([[ref_f.get(b, 0) for b in bins], [cur_f.get(b, 0) for b in bins]])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] > 1:
        chi2, p_value, _, _ = stats.chi2_contingency(table)
        cramer_v = math.sqrt(chi2 / (table.sum() * (min(table.shape) - 1)))
    else:
        chi2, p_value, cramer_v = 0.0, 1.0, 0.0
    unseen = sum(n for c, n in cur.items() if c not in ref) / sum(cur.values())
    return {
        "psi": psi,
        "test": "chi-square",
        "statistic": float(chi2),
        "p_value": float(p_value),
        "effect": cramer_v,
        "outside": unseen,
        "bins": bins,
        "shares_reference": _shares(ref_f, bins),
        "shares_current": _shares(cur_f, bins),
    }
