"""Read the JSON manifest of a saved folder, checked for its format."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from siting._core.errors import InputError


def read_manifest(file: Path, *, format_name: str, what: str) -> tuple[dict[str, Any], bytes]:
    """Return the manifest `file` of `what` (for messages) and its raw bytes.

    Raises
    ------
    InputError
        Naming `file`, if it cannot be read as JSON or its ``format`` is not `format_name`.
    """
    try:
        content = file.read_bytes()
        manifest = json.loads(content.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        msg = f"{file}: not {what}'s manifest ({error})"
        raise InputError(msg) from error
    if not isinstance(manifest, dict) or manifest.get("format") != format_name:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        msg = f"{file}: format {found!r} is not {format_name!r}"
        raise InputError(msg)
    return manifest, content
