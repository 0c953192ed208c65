"""Build drive networks with travel times from OpenStreetMap, and snap points to them."""

from __future__ import annotations

from .snapping import Snapped as Snapped
from .snapping import snap_points as snap_points
