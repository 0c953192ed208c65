"""The what-if engine alone: figures by hand on the tiny Jämtland line, other counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from scenario_files import scenario_text, write_inputs

from siting.service.whatif import Edits, NewPoint, WhatIf

# the tiny line with people 65+ beside everyone, and a problem that weighs by them
OLD_CSV = """id,population,old,lon,lat,kommun_kod,name
a,100,10,15.0,63.0,2380,A
b,50,40,15.0,63.1,2380,B
c,30,0,15.0,63.2,2380,C
d,20,20,15.0,63.3,2380,D
"""


@pytest.fixture
def whatif(tmp_path: Path) -> WhatIf:
    """The tiny scenario (minutes = km, 11.1 km between neighbours), weighing by `old`."""
    write_inputs(tmp_path)
    (tmp_path / "cells.csv").write_text(OLD_CSV)
    text = scenario_text(problems=[{"name": '"old"', "kind": '"p-median"', "n_sites": "2",
                                    "weights": '"old"'}])  # fmt: skip
    (tmp_path / "s.toml").write_text(text)
    return WhatIf.load(tmp_path / "s.toml")


def test_opening_a_candidate_by_hand(whatif: WhatIf) -> None:
    """Opening C: C and D gain 22.2 km of minutes each, B keeps A at 11.1; by hand."""
    answer = whatif.evaluate(Edits(opened=("cand-c",)))
    assert answer["today"]["mean_minutes"] == pytest.approx(
        (50 * 11.12 + 30 * 22.24 + 20 * 33.36) / 200, rel=1e-2
    )
    assert answer["change"]["people_gaining"] == 50  # C (30) and D (20)
    assert answer["plan"]["within_15_min"] == 200  # every point within 11.1 min of A or C


def test_other_counts_are_reported_too(whatif: WhatIf) -> None:
    """A problem's weights column (people 65+ here) gets its own figures: 10 + 40 + 0 + 20."""
    answer = whatif.evaluate(Edits(closed=("office-a",), opened=("cand-d",)))
    old = answer["also"]["old"]
    assert old["today"]["population"] == 70
    assert old["today"]["within_15_min"] == 50  # A and B
    assert old["plan"]["within_15_min"] == 20  # D only (C at 11.1 min has nobody old)


def test_a_new_point_is_one_query(whatif: WhatIf) -> None:
    """A new office where D is gives D's candidate figures."""
    by_point = whatif.evaluate(Edits(points=(NewPoint("here", 15.0, 63.3),)))
    by_site = whatif.evaluate(Edits(opened=("cand-d",)))
    assert by_point["plan"] == pytest.approx(by_site["plan"])
