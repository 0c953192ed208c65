"""Geofabrik's server and the extracts siting knows by name (light: the CLI's help reads it)."""

from __future__ import annotations

GEOFABRIK_URL = "https://download.geofabrik.de"
# Geofabrik's extracts for Sweden and its neighbours (Sweden has no smaller extracts there)
GEOFABRIK_REGIONS = {
    "sweden": "europe/sweden",
    "norway": "europe/norway",
    "denmark": "europe/denmark",
    "finland": "europe/finland",
    "iceland": "europe/iceland",
    "faroe-islands": "europe/faroe-islands",
}
REGION_ALIASES = {
    "sverige": "sweden",
    "norge": "norway",
    "danmark": "denmark",
    "suomi": "finland",
    "island": "iceland",
    "färöarna": "faroe-islands",
}
