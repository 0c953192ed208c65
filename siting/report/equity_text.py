"""A plan's equity and attendance as pages and maps show them: one map line, card rows and
the comparison table's cells, from the plan's record in summary.json."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from siting.report.texts import LABELS, Language, format_minutes, format_number


@dataclass(frozen=True)
class PlanEquity:
    """How evenly a plan's travel falls, and how many are expected to come (NaN: undefined,
    such as a Palma ratio whose poorer 40 % travel 0 minutes).

    Attributes
    ----------
    gini, palma, theil
        Inequality of travel time over people (`siting.locate.equity.EquityMeasures`).
    worst_decile_minutes
        Mean travel time of the tenth of people with the longest trips.
    attendance, attendance_share
        People expected to come under the run's decay, and their share of everyone.
    """

    gini: float
    palma: float
    theil: float
    worst_decile_minutes: float
    attendance: float
    attendance_share: float

    @classmethod
    def from_summary(cls, record: Mapping[str, Any]) -> PlanEquity | None:
        """From a problem's record in summary.json (``equity.total``, ``attendance``); None
        when the run wrote none (a curve, or a run from before equity was reported)."""
        equity = (record.get("equity") or {}).get("total")
        if not isinstance(equity, Mapping):
            return None
        attendance = record.get("attendance") or {}
        return cls(
            gini=_number(equity.get("gini")),
            palma=_number(equity.get("palma")),
            theil=_number(equity.get("theil")),
            worst_decile_minutes=_number(equity.get("worst_decile_minutes")),
            attendance=_number(attendance.get("people")),
            attendance_share=_number(attendance.get("share")),
        )

    def cells(self, lang: Language) -> list[tuple[str, str]]:
        """(label, value) pairs in the pages' order: Gini, Palma, Theil, worst tenth,
        attendance."""
        labels = LABELS[lang]
        return [
            (labels["gini"], _ratio(self.gini, lang)),
            (labels["palma"], _ratio(self.palma, lang)),
            (labels["theil"], _ratio(self.theil, lang)),
            (labels["worst_decile"], format_minutes(self.worst_decile_minutes, lang)),
            (labels["attendance"], _attendance(self.attendance, self.attendance_share, lang)),
        ]

    def line(self, lang: Language) -> str:
        """One line for a map's panel: every figure with its label."""
        return " · ".join(f"{label} {value}" for label, value in self.cells(lang))


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


def _ratio(value: float, lang: Language) -> str:
    if not math.isfinite(value):
        return LABELS[lang]["unknown"]
    text = f"{value:.3f}"
    return text.replace(".", ",") if lang == "sv" else text


def _attendance(people: float, share: float, lang: Language) -> str:
    if not math.isfinite(people):
        return LABELS[lang]["unknown"]
    if not math.isfinite(share):
        return format_number(people, lang)
    percent = f"{100 * share:.1f}"
    percent = percent.replace(".", ",") if lang == "sv" else percent
    return f"{format_number(people, lang)} ({percent} %)"
