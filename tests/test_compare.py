"""Tests for siting.report.compare_pages: accessibility metrics and gains/losses worked by hand."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pytest

import siting
from siting.report.compare_pages import (
    OfficePlan,
    access_metrics,
    change_metrics,
    compare_scenarios,
    weighted_percentile,
)

# four places: 100 people at 10 min, 200 at 20, 300 at 50, 400 not reached
PEOPLE = [100, 200, 300, 400]
TODAY = [10.0, 20.0, 50.0, math.inf]
# after a closure: the first place loses 15 min, the second gains 5, the third is lost,
# the fourth is reached at 70
AFTER = [25.0, 15.0, math.inf, 70.0]


def _demand() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "demand_id": ["a", "b", "c", "d"],
            "population": PEOPLE,
            "kommunkod": ["2080", "2080", "2062", "2062"],
        },
        geometry=gpd.points_from_xy([1.0, 2.0, 3.0, 4.0], [0.0] * 4),
        crs="EPSG:3006",
    )


def _travel(minutes: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"demand_id": ["a", "b", "c", "d"], "minutes": minutes})


def test_weighted_percentile_by_hand() -> None:
    """The 95th percentile is the time below which 95 % of the people live."""
    assert weighted_percentile([10, 20, 30], [50, 45, 5], 0.95) == 20.0
    assert weighted_percentile([10, 20, 30], [50, 44, 6], 0.95) == 30.0
    assert weighted_percentile([5, math.inf], [90, 10], 0.95) == math.inf


def test_access_metrics_by_hand() -> None:
    """Within 15 min: 100 of 1,000; within 60: 600; mean over the 600 reached: 33.33 min."""
    row = access_metrics(PEOPLE, TODAY)
    assert row["population"] == 1000
    assert row["within_15_min"] == 100
    assert row["within_30_min"] == 300
    assert row["within_45_min"] == 300
    assert row["within_60_min"] == 600
    assert row["share_within_60_min"] == pytest.approx(0.6)
    assert row["mean_minutes"] == pytest.approx((100 * 10 + 200 * 20 + 300 * 50) / 600)
    assert row["p95_minutes"] == math.inf  # 40 % are not reached
    assert row["unreached"] == 400
    # everyone, the 400 unreached counted at 60 min: 1,000 + 4,000 + 15,000 + 24,000
    assert row["person_minutes_capped"] == 44_000
    assert row["mean_minutes_capped"] == pytest.approx(44.0)
    # after: 70 min counts as 60 too: 2,500 + 3,000 + 18,000 + 24,000
    assert access_metrics(PEOPLE, AFTER)["person_minutes_capped"] == 47_500


def test_reaching_far_people_improves_the_capped_mean() -> None:
    """Reaching 100 more people at 50 min raises the mean over people reached, but it is
    better for them: the capped mean falls from (1,000 + 6,000) / 200 to (1,000 + 5,000) / 200.
    """
    before = access_metrics([100, 100], [10.0, math.inf])
    after = access_metrics([100, 100], [10.0, 50.0])
    assert (before["mean_minutes"], after["mean_minutes"]) == (10.0, 30.0)
    assert (before["mean_minutes_capped"], after["mean_minutes_capped"]) == (35.0, 30.0)
    assert (before["unreached"], after["unreached"]) == (100, 0)


def test_metrics_use_the_minutes_assignments_csv_stores() -> None:
    """Minutes count at 3 decimals, as written to assignments.csv and read back by compare."""
    exact = access_metrics([1, 2], [10.0004, 20.00049])
    stored = access_metrics([1, 2], [10.0, 20.0])
    assert exact == stored


def test_change_metrics_by_hand() -> None:
    """200 people gain 5 min, 100 lose 15, 300 are no longer reached, 400 newly are."""
    change = change_metrics(PEOPLE, TODAY, AFTER)
    assert change["people_gaining"] == 200
    assert change["mean_gain_min"] == pytest.approx(5.0)
    assert change["people_losing"] == 100
    assert change["mean_loss_min"] == pytest.approx(15.0)
    assert change["max_loss_min"] == pytest.approx(15.0)
    assert change["people_no_longer_reached"] == 300
    assert change["people_newly_reached"] == 400
    assert change["person_minutes_change"] == pytest.approx(100 * 15 - 200 * 5)


def test_places_unreached_in_both_scenarios_are_no_change() -> None:
    """Unreached before and after: neither gain, loss nor lost (and no inf - inf)."""
    change = change_metrics([10], [math.inf], [math.inf])
    assert change["people_gaining"] == change["people_losing"] == 0
    assert change["people_no_longer_reached"] == 0


def test_changes_under_a_minute_are_neither_gain_nor_loss() -> None:
    """Half a minute either way (snapping noise) is not counted."""
    change = change_metrics([10, 10], [10.0, 10.0], [10.5, 9.5])
    assert change["people_gaining"] == 0
    assert change["people_losing"] == 0
    assert math.isnan(change["mean_gain_min"])  # nobody gains: no mean, not zero minutes
    assert math.isnan(change["max_loss_min"])


def test_compare_scenarios_totals_and_municipalities() -> None:
    """Metrics come per scenario in total and per kommun; changes against the first."""
    comparison = compare_scenarios(
        _demand(),
        [OfficePlan("I dag", _travel(TODAY)), OfficePlan("Utan kontor", _travel(AFTER))],
        group_column="kommunkod",
    )
    metrics = comparison.metrics.set_index(["scenario", "group"])
    assert metrics.loc[("I dag", "total"), "within_30_min"] == 300
    assert metrics.loc[("I dag", "2080"), "mean_minutes"] == pytest.approx(50 / 3)
    assert metrics.loc[("Utan kontor", "2062"), "within_60_min"] == 0
    changes = comparison.changes.set_index("group")
    assert changes.loc["total", "baseline"] == "I dag"
    assert changes.loc["2080", "people_losing"] == 100
    assert changes.loc["2062", "people_no_longer_reached"] == 300
    assert len(comparison.changes) == 3  # total, 2062, 2080


def test_points_without_a_group_form_their_own() -> None:
    """A missing municipality code is a group of its own ("?"), not an error."""
    demand = _demand()
    demand["kommunkod"] = ["2080", None, "2062", "2062"]
    comparison = compare_scenarios(
        demand, [OfficePlan("I dag", _travel(TODAY))], group_column="kommunkod"
    )
    metrics = comparison.metrics.set_index("group")
    assert metrics.loc["?", "population"] == 200
    assert list(metrics.index) == ["total", "2062", "2080", "?"]


def test_compare_needs_distinct_names_and_a_known_group_column() -> None:
    """Duplicate scenario names and unknown group columns are input errors."""
    with pytest.raises(siting.InputError, match="names must differ"):
        compare_scenarios(_demand(), [OfficePlan("A", _travel(TODAY))] * 2)
    with pytest.raises(siting.InputError, match="group_column"):
        compare_scenarios(_demand(), [OfficePlan("A", _travel(TODAY))], group_column="lan")
    assert math.isnan(access_metrics([0], [1.0])["mean_minutes"])  # nobody to average
