"""Tests of the accessibility indices: by hand and against PySAL access on a small case."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from access import Access, weights

from siting import Decay, InputError, ODMatrix
from siting.locate.accessibility import (
    accessibility_table,
    floating_catchment_access,
    gravity_access,
)

DEMAND_IDS = ["a", "b", "c", "d"]
PEOPLE = [100.0, 250.0, 40.0, 610.0]
SITE_IDS = ["x", "y", "z"]
CAPACITY = [3.0, 1.0, 2.0]
# (origin, site, minutes); b-z and d-x lie beyond a 30-minute catchment
PAIRS = [
    ("a", "x", 5.0), ("a", "y", 25.0), ("a", "z", 29.0), ("b", "x", 12.0), ("b", "z", 40.0),
    ("c", "y", 8.0), ("c", "z", 18.0), ("d", "x", 33.0), ("d", "y", 16.0), ("d", "z", 7.0),
]  # fmt: skip


def small_od() -> ODMatrix:
    """Four demand points, three offices, ten stored pairs."""
    minutes = np.full((4, 3), np.inf)
    for origin, site, time in PAIRS:
        minutes[DEMAND_IDS.index(origin), SITE_IDS.index(site)] = time
    return ODMatrix.from_dense(minutes, origin_ids=DEMAND_IDS, destination_ids=SITE_IDS)


def pysal_access() -> Access:
    """The same case as PySAL access's tables."""
    demand = pd.DataFrame({"geoid": DEMAND_IDS, "pop": PEOPLE}).set_index("geoid")
    supply = pd.DataFrame({"geoid": SITE_IDS, "cap": CAPACITY}).set_index("geoid")
    cost = pd.DataFrame(PAIRS, columns=["origin", "dest", "cost"])
    return Access(
        demand_df=demand, demand_index=True, demand_value="pop",
        supply_df=supply, supply_index=True, supply_value="cap",
        cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="cost",
    )  # fmt: skip


def test_two_step_by_hand() -> None:
    """2SFCA at 30 min: x shared by a+b (350), y and z by a+c+d (750); a gets 3/350 + 3/750."""
    step = Decay("step", max_minutes=30)
    found = floating_catchment_access(small_od(), PEOPLE, decay=step, capacity=CAPACITY)
    expected = [3 / 350 + 1 / 750 + 2 / 750, 3 / 350, 1 / 750 + 2 / 750, 1 / 750 + 2 / 750]
    assert found.tolist() == pytest.approx(expected, rel=1e-12)


def test_two_step_equals_pysal_access() -> None:
    """2SFCA with a 30-minute catchment equals access's two_stage_fca to 1e-9."""
    theirs = pysal_access().two_stage_fca(name="tsfca", max_cost=30)["tsfca_cap"]
    step = Decay("step", max_minutes=30)
    mine = floating_catchment_access(small_od(), PEOPLE, decay=step, capacity=CAPACITY)
    assert mine == pytest.approx(theirs.loc[DEMAND_IDS].to_numpy(), abs=1e-9, rel=0)


def test_enhanced_two_step_equals_pysal_access() -> None:
    """E2SFCA with a Gaussian (sigma 15) and a 60-minute catchment equals access to 1e-9."""
    theirs = pysal_access().enhanced_two_stage_fca(
        name="e2", max_cost=60, weight_fn=weights.gaussian(15)
    )["e2_cap"]
    decay = Decay("gaussian", scale_minutes=15, max_minutes=60)
    mine = floating_catchment_access(small_od(), PEOPLE, decay=decay, capacity=CAPACITY)
    assert mine == pytest.approx(theirs.loc[DEMAND_IDS].to_numpy(), abs=1e-9, rel=0)


def test_luo_qi_zones_by_hand_equal_pysal_access() -> None:
    """access's default E2SFCA zones (1, 0.68, 0.22 to 10/20/30 min) equal the formula by hand."""
    theirs = pysal_access().enhanced_two_stage_fca(name="e2", max_cost=30)["e2_cap"]
    minutes = small_od().to_dense()
    zone = np.select([minutes <= 10, minutes <= 20, minutes <= 30], [1.0, 0.68, 0.22], 0.0)
    ratio = np.array(CAPACITY) / (zone.T @ np.array(PEOPLE))
    assert zone @ ratio == pytest.approx(theirs.loc[DEMAND_IDS].to_numpy(), abs=1e-9, rel=0)


def test_gravity_equals_pysal_access() -> None:
    """Power decay (s=8, b=1.5) equals access's gravity(scale 8, alpha -1.5, min_dist 8)."""
    theirs = pysal_access().weighted_catchment(
        name="grav", weight_fn=weights.gravity(scale=8, alpha=-1.5, min_dist=8)
    )["grav_cap"]
    decay = Decay("power", beta=1.5, scale_minutes=8)
    mine = gravity_access(small_od(), decay=decay, capacity=CAPACITY)
    assert mine == pytest.approx(theirs.loc[DEMAND_IDS].to_numpy(), abs=1e-9, rel=0)


def test_gravity_by_hand_without_capacity() -> None:
    """Exponential 0.1, every office 1: a gets e^-0.5 + e^-2.5 + e^-2.9."""
    decay = Decay("exponential", beta=0.1)
    found = gravity_access(small_od(), decay=decay)
    assert found[0] == pytest.approx(math.exp(-0.5) + math.exp(-2.5) + math.exp(-2.9))


def test_office_nobody_reaches_adds_nothing() -> None:
    """An office only an empty cell reaches: ratio 0, not a division by zero."""
    od = ODMatrix.from_dense(np.array([[5.0, np.inf], [np.inf, 5.0]]))
    found = floating_catchment_access(od, [10.0, 0.0], decay=Decay("step", max_minutes=30))
    assert found.tolist() == [0.1, 0.0]


def test_table_has_the_three_indices() -> None:
    """The table holds gravity, 2SFCA and E2SFCA per demand id; 2SFCA as above."""
    table = accessibility_table(
        small_od(), PEOPLE, decay=Decay("gaussian"), catchment_minutes=30, capacity=CAPACITY
    )
    assert table.columns.tolist() == ["demand_id", "gravity", "2sfca", "e2sfca"]
    assert table["demand_id"].tolist() == DEMAND_IDS
    assert table["2sfca"].iloc[1] == pytest.approx(3 / 350)
    # the Gaussian is cut off at the catchment: d's 33-minute trip to x adds nothing
    cut = Decay("gaussian", max_minutes=30)
    assert table["gravity"].iloc[3] == pytest.approx(
        float(cut.weight([16.0, 7.0]) @ np.array([1.0, 2.0]))
    )


@pytest.mark.parametrize(
    ("demand", "capacity", "match"),
    [
        (PEOPLE[:3], None, "demand: 3 values for 4 rows"),
        (PEOPLE, [1.0, 2.0], "capacity: 2 values for 3 sites"),
        (PEOPLE, [1.0, -2.0, 1.0], r"capacity must be finite and >= 0, got -2\.0 at 1"),
        ([1.0, math.nan, 1.0, 1.0], None, "demand must be finite and >= 0, got nan at 1"),
    ],
)
def test_bad_demand_or_capacity(
    demand: list[float], capacity: list[float] | None, match: str
) -> None:
    """Wrong lengths or negative values are InputErrors naming the value."""
    with pytest.raises(InputError, match=match):
        floating_catchment_access(
            small_od(), demand, decay=Decay("step", max_minutes=30), capacity=capacity
        )
