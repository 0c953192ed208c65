"""Where the shared reference data (../shared/data, not committed) is found for tests."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_file(name: str) -> Path:
    """`name` in $SITING_SHARED_DATA, ../shared/data beside the checkout or /work/shared/data,
    the first that holds it (else the second, absent, for the skip reason)."""
    places = [ROOT.parent / "shared" / "data", Path("/work/shared/data")]
    if os.environ.get("SITING_SHARED_DATA"):
        places.insert(0, Path(os.environ["SITING_SHARED_DATA"]))
    for place in places:
        if (place / name).exists():
            return place / name
    return ROOT.parent / "shared" / "data" / name
