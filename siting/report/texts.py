"""Words shown on maps and pages (Swedish and English) and escaping of names shown in them."""

from __future__ import annotations

import html
import math
from typing import Any, Literal

from siting._core.errors import InputError

Language = Literal["sv", "en"]
LANGUAGES: tuple[Language, ...] = ("sv", "en")

LABELS: dict[Language, dict[str, str]] = {
    "sv": {
        "time_layer": "Restid till närmaste kontor",
        "population_layer": "Befolkning",
        "catchment_layer": "Upptagningsområden",
        "sites_layer": "Kontor",
        "candidates_layer": "Kandidatorter",
        "kommun_layer": "Kommungränser",
        "lan_layer": "Länsgränser",
        "minutes": "min",
        "not_reached": "ej nådd inom gränsen",
        "people": "invånare",
        "population": "Befolkning",
        "travel_time": "Restid",
        "office": "Kontor",
        "nearest_office": "Närmaste kontor",
        "served": "Invånare som betjänas",
        "mean_time": "Medelrestid",
        "worst_time": "Längsta restid",
        "status": "Status",
        "existing": "befintligt kontor",
        "new": "nytt kontor",
        "closed": "stängt kontor",
        "candidate": "kandidatort",
        "may_close": "kan komma att stängas",
        "model": "Restidsmodell",
        "model_road": "vägnät (OpenStreetMap), bil",
        "model_road_walk": "gångnät (OpenStreetMap), till fots 4,8 km/h",
        "model_road_bike": "cykelnät (OpenStreetMap), cykel 15 km/h",
        "model_straight": (
            "UPPSKATTNING: fågelvägen × omvägsfaktor och schablonhastighet, inte restider på väg"
        ),
        "model_user": "restider från användarens tabell",
        "model_transit": "kollektivtrafik enligt tidtabell (GTFS), gång till och från hållplats",
        "mode_car": "bil",
        "mode_walk": "till fots",
        "mode_bike": "cykel",
        "mode_transit": "kollektivtrafik",
        "counted": "Räknas: {who}",
        "same_offices_by": (
            "Samma kontor med {mode}: {share_30} inom 30 min, {share_60} inom 60 min"
        ),
        "gini": "Gini",
        "palma": "Palma",
        "theil": "Theil",
        "worst_decile": "Sämsta tiondelen (medel)",
        "attendance": "Väntade besökare",
        "access_layer": "Tillgänglighet (E2SFCA, per {per} invånare)",
        "access_none": "inget kontor inom räckhåll",
        "market_share": (
            "Marknadsandel: {share} av efterfrågan som når ett kontor; andra kontor: {n}"
        ),
        "cells_as_image": "{n} rutor visas som bild (ingen information vid hovring)",
        "unknown": "–",
        "legend_offices": "Kontor",
        "people_short": "inv.",
        "estimated": "uppskattad",
        "legend": "Teckenförklaring",
        "background": "Bakgrundskarta",
        "mobile_layer": "Mobila kontor",
        "within_30": "Inom 30 min",
        "route": "Tur",
        "stop": "Hållplats",
    },
    "en": {
        "time_layer": "Travel time to nearest office",
        "population_layer": "Population",
        "catchment_layer": "Catchment areas",
        "sites_layer": "Offices",
        "candidates_layer": "Candidate towns",
        "kommun_layer": "Municipal boundaries",
        "lan_layer": "County boundaries",
        "minutes": "min",
        "not_reached": "not reached within the cut-off",
        "people": "people",
        "population": "Population",
        "travel_time": "Travel time",
        "office": "Office",
        "nearest_office": "Nearest office",
        "served": "People served",
        "mean_time": "Mean travel time",
        "worst_time": "Longest travel time",
        "status": "Status",
        "existing": "existing office",
        "new": "new office",
        "closed": "closed office",
        "candidate": "candidate town",
        "may_close": "may close",
        "model": "Travel-time model",
        "model_road": "road network (OpenStreetMap), car",
        "model_road_walk": "walking network (OpenStreetMap), on foot at 4.8 km/h",
        "model_road_bike": "cycling network (OpenStreetMap), by bike at 15 km/h",
        "model_straight": (
            "ESTIMATE: straight-line distance × detour factor at typical speeds, not road times"
        ),
        "model_user": "travel times from the user's table",
        "model_transit": "public transport by timetable (GTFS), walking to and from stops",
        "mode_car": "car",
        "mode_walk": "walking",
        "mode_bike": "bike",
        "mode_transit": "public transport",
        "counted": "Counted: {who}",
        "same_offices_by": (
            "Same offices by {mode}: {share_30} within 30 min, {share_60} within 60 min"
        ),
        "gini": "Gini",
        "palma": "Palma",
        "theil": "Theil",
        "worst_decile": "Worst-off tenth (mean)",
        "attendance": "Expected visitors",
        "access_layer": "Accessibility (E2SFCA, per {per} people)",
        "access_none": "no office in reach",
        "market_share": "Market share: {share} of the demand an office reaches; other offices: {n}",
        "cells_as_image": "{n} cells drawn as an image (no hover details)",
        "unknown": "–",
        "legend_offices": "Offices",
        "people_short": "people",
        "estimated": "estimated",
        "legend": "Legend",
        "background": "Background map",
        "mobile_layer": "Mobile offices",
        "within_30": "Within 30 min",
        "route": "Tour",
        "stop": "Stop",
    },
}


def check_language(language: str) -> Language:
    """Return `language` if it is one siting speaks, else raise `InputError`."""
    if language not in LANGUAGES:
        msg = f"language must be one of {', '.join(LANGUAGES)}, got {language!r}"
        raise InputError(msg)
    return language


def escape_text(value: Any) -> str:
    """Return `value` as text that shows literally in HTML and inside a JS template literal.

    HTML-escapes ``& < > " '`` and also the backtick and ``$``: folium puts tooltip and popup
    HTML inside JavaScript template literals, where `` ` `` ends the string and ``${`` runs
    code.
    """
    text = html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;")


def format_number(value: float, language: Language) -> str:
    """Whole number with a thin space (Swedish) or a comma (English) between thousands."""
    if not math.isfinite(value):
        return LABELS[language]["unknown"]
    text = f"{round(value):,}"
    return text.replace(",", "\u202f") if language == "sv" else text


def format_minutes(value: float, language: Language) -> str:
    """Minutes with one decimal, Swedish decimal comma; a dash when unknown or unreachable."""
    if not math.isfinite(value):
        return LABELS[language]["unknown"]
    text = f"{value:.1f}"
    return (text.replace(".", ",") if language == "sv" else text) + " min"
