"""The map's accessibility layer: classes of an index per demand point, colours, legend rows."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from siting._core.errors import InputError
from siting.report.texts import LABELS, Language, escape_text, format_number

#: colours of "no office in reach", then of the quintiles of those with some access
ACCESS_COLORS = ("#8c8c8c", "#edf8fb", "#b2e2e2", "#66c2a4", "#2ca25f", "#006d2c")
#: the index is shown per this many people (E2SFCA values are offices per person)
PER_PEOPLE = 10_000


@dataclass(frozen=True)
class AccessClasses:
    """Class per demand row (0: none in reach, 1-5: quintiles) and the four breaks."""

    classes: npt.NDArray[np.int64]
    breaks: tuple[float, ...]


def access_classes(values: npt.ArrayLike, n_rows: int) -> AccessClasses:
    """Quintile classes of the points with some access; points with none are class 0.

    Quintiles, not fixed breaks: the index's scale depends on the offices' capacities and
    the population, so no one set of breaks fits every run.

    Examples
    --------
    >>> access_classes([0, 1, 2, 3, 4, 5], 6).classes.tolist()
    [0, 1, 2, 3, 4, 5]
    """
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size != n_rows or not (np.isfinite(array) & (array >= 0)).all():
        msg = f"access: expected {n_rows} finite values >= 0, one per demand point"
        raise InputError(msg)
    some = array > 0
    if not some.any():
        return AccessClasses(np.zeros(n_rows, dtype=np.int64), ())
    breaks = np.quantile(array[some], (0.2, 0.4, 0.6, 0.8))
    classes = np.where(some, 1 + np.searchsorted(breaks, array, side="left"), 0)
    return AccessClasses(classes.astype(np.int64), tuple(float(b) for b in breaks))


def access_labels(breaks: tuple[float, ...], lang: Language) -> list[str]:
    """Legend labels: none in reach, then each class's range per `PER_PEOPLE` people."""
    labels = [LABELS[lang]["access_none"]]
    if not breaks:
        return labels
    shown = [_number(b * PER_PEOPLE, lang) for b in breaks]
    labels.append(f"≤ {shown[0]}")
    labels += [f"{low}–{high}" for low, high in itertools.pairwise(shown)]
    labels.append(f"> {shown[-1]}")
    return labels


def access_legend(breaks: tuple[float, ...], lang: Language) -> str:
    """The legend's accessibility section (title and one swatch row a class)."""
    title = LABELS[lang]["access_layer"].format(per=format_number(PER_PEOPLE, lang))
    rows = [
        f'<div class="row"><span class="swatch" style="background:{color}"></span>'
        f"<span>{escape_text(text)}</span></div>"
        for color, text in zip(ACCESS_COLORS, access_labels(breaks, lang), strict=False)
    ]
    return f"<h2>{escape_text(title)}</h2>" + "".join(rows)


def _number(value: float, lang: Language) -> str:
    """Three significant digits, with the language's decimal sign."""
    text = f"{value:.3g}"
    return text.replace(".", ",") if lang == "sv" else text
