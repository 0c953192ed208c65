"""Names made safe for files: scenario and problem names as file names."""

from __future__ import annotations

import re
import unicodedata


def slugify(name: str) -> str:
    """File-name-safe form of a scenario name: ``"Utan Åsele"`` -> ``"utan-asele"``."""
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "scenario"
