"""Hand-made demand, sites and travel times that map, compare and publish tests share."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

XSS = "<img src=x onerror=alert(1)>"
TEMPLATE_XSS = "`${alert(2)}`"
# five 1 km cells in a row in Dalarna (SWEREF99 TM), 1-5 people... and their travel times:
# 5 min, exactly 15 (still the 0-15 class), 30.5, 61 and unreached
CELL_MINUTES = [5.0, 15.0, 30.5, 61.0, math.inf]
CELL_CLASSES = [0, 0, 2, 4, 5]


def make_cells(
    n: int, *, east0: float = 500_000.0, north0: float = 6_700_000.0
) -> gpd.GeoDataFrame:
    east = east0 + 1000.0 * np.arange(n) + 500.0
    north = np.full(n, north0 + 500.0)
    cells = shapely.box(east - 500, north - 500, east + 500, north + 500)
    return gpd.GeoDataFrame(
        {
            "demand_id": [f"d{i}" for i in range(n)],
            "population": np.arange(1, n + 1) * 10,
            "cell": gpd.GeoSeries(cells, crs="EPSG:3006"),
        },
        geometry=gpd.points_from_xy(east, north),
        crs="EPSG:3006",
    )


def make_sites() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "site_id": ["a", "b", "c"],
            "name": ["Kontor Å", XSS, TEMPLATE_XSS],
            "status": ["existing", "existing", "candidate"],
        },
        geometry=gpd.points_from_xy([500_500.0, 503_500.0, 502_500.0], [6_700_500.0] * 3),
        crs="EPSG:3006",
    )


def make_travel() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "demand_id": [f"d{i}" for i in range(5)],
            "site_id": ["a", "a", "b", "b", None],
            "minutes": CELL_MINUTES,
        }
    )
