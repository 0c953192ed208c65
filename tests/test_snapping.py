"""Tests for snapping points to the drive network."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from pyproj import Transformer

from siting._core.errors import InputError, SitingWarning
from siting.roads.network import snap_points


def _grid_graph_sweref() -> nx.MultiDiGraph:
    """Three nodes 1 km apart on a west-east line near Falun, stored in lon/lat."""
    to_wgs84 = Transformer.from_crs("EPSG:3006", "EPSG:4326", always_xy=True)
    graph = nx.MultiDiGraph(crs="EPSG:4326")
    for node, easting in zip((10, 20, 30), (530_000.0, 531_000.0, 532_000.0), strict=True):
        lon, lat = to_wgs84.transform(easting, 6_720_000.0)
        graph.add_node(node, x=lon, y=lat)
    return graph


def test_snap_distance_and_access_time_match_hand_values() -> None:
    """A point 300 m north of the middle node snaps to it, 300 m away, 54 s at 20 km/h."""
    snapped = snap_points(
        _grid_graph_sweref(), [531_000.0], [6_720_300.0], crs="EPSG:3006", access_speed_kph=20.0
    )
    assert snapped.node.tolist() == [20]
    assert snapped.distance_m[0] == pytest.approx(300.0, abs=0.01)
    assert snapped.access_time_s[0] == pytest.approx(54.0, abs=0.01)
    assert not snapped.too_far[0]


SWEREF = "EPSG:3006"


def test_far_points_are_flagged_not_hidden() -> None:
    """A point 8 km from every node is flagged too far under a 5 km limit, with a warning."""
    with pytest.warns(SitingWarning, match=r"1 point\(s\) lie farther than 5000 m .* 8000 m away"):
        snapped = snap_points(
            _grid_graph_sweref(),
            [532_000.0, 530_100.0],
            [6_728_000.0, 6_720_000.0],
            crs="EPSG:3006",
        )
    assert snapped.too_far.tolist() == [True, False]
    assert snapped.node.tolist() == [30, 10]
    assert snapped.distance_m[0] == pytest.approx(8_000.0, abs=0.01)


def test_missing_coordinates_are_refused() -> None:
    """A NaN coordinate is an input error naming its position."""
    with pytest.raises(InputError, match="position 1"):
        snap_points(
            _grid_graph_sweref(), [531_000.0, np.nan], [6_720_000.0, 6_720_000.0], crs="EPSG:3006"
        )


@pytest.mark.parametrize("option", ["access_speed_kph", "max_snap_m"])
@pytest.mark.parametrize("value", [0.0, -5.0, float("nan")])
def test_non_positive_options_are_refused(option: str, value: float) -> None:
    """Speeds and distances must be positive numbers."""
    with pytest.raises(InputError, match=option):
        snap_points(
            _grid_graph_sweref(), [531_000.0], [6_720_000.0], crs="EPSG:3006", **{option: value}
        )
