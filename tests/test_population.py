"""Tests for siting.inputs.population: SCB grids, vector layers, CSV points and rasters."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from siting._core.errors import InputError, SitingWarning
from siting.inputs.population import aggregate_population, decode_rutid, load_population

INPUTS = Path(__file__).parent / "data" / "inputs"
SCB_1KM = INPUTS / "scb_1km_small.csv"
SCB_250M = INPUTS / "scb_250m_small.csv"
DESO = INPUTS / "deso_small.geojson"
SHARED_GRID = Path("/work/shared/data/scb_befolkning_1km_2025_dalarna.csv")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- rutid decoding -------------------------------------------------------------------------


def test_decode_rutid_1km_known_cell() -> None:
    """A 13-digit SCB id gives the lower-left corner and a 1 km cell centred 500 m in."""
    cells = decode_rutid(["3520006860000", "5340006718000"])
    assert cells.cell_size_m == 1000
    assert cells.corner_e_m.tolist() == [352000, 534000]
    assert cells.corner_n_m.tolist() == [6860000, 6718000]
    assert cells.centre_e_m.tolist() == [352500, 534500]
    assert cells.centre_n_m.tolist() == [6860500, 6718500]
    assert cells.polygons()[0].bounds == (352000, 6860000, 353000, 6861000)


def test_decode_rutid_250m_cells_inferred_from_corners() -> None:
    """Ids whose corners sit on a 250 m grid decode to 250 m cells."""
    cells = decode_rutid(["5342506718750", "5340006718000"])
    assert cells.cell_size_m == 250
    assert cells.centre_e_m.tolist() == [534375, 534125]
    assert cells.centre_n_m.tolist() == [6718875, 6718125]


def test_decode_rutid_northing_first_is_recognised() -> None:
    """An export that writes the 7-digit northing first decodes to the same cell."""
    cells = decode_rutid(["6860000352000"])
    assert (cells.corner_e_m[0], cells.corner_n_m[0]) == (352000, 6860000)


def test_decode_rutid_inspire_id() -> None:
    """An INSPIRE-style id carries its CRS and cell size."""
    cells = decode_rutid(["CRS3006RES250mN6718750E534250"])
    assert cells.crs == "EPSG:3006"
    assert cells.cell_size_m == 250
    assert (cells.corner_e_m[0], cells.corner_n_m[0]) == (534250, 6718750)


def test_decode_rutid_matches_the_shared_scb_centres() -> None:
    """Decoded centres agree with the e/n centres SCB publishes for every Dalarna cell."""
    if not SHARED_GRID.exists():
        pytest.skip("shared SCB grid not on this machine")
    table = pd.read_csv(SHARED_GRID, dtype={"rutid": str}, encoding="utf-8-sig")
    cells = decode_rutid(table["rutid"].to_numpy())
    assert cells.cell_size_m == 1000
    assert np.abs(cells.centre_e_m - table["e"].to_numpy()).max() < 0.01
    assert np.abs(cells.centre_n_m - table["n"].to_numpy()).max() < 0.01


@pytest.mark.parametrize("bad", ["352000686000", "35200068600a0", "3520001860000"])
def test_decode_rutid_rejects_malformed_ids(bad: str) -> None:
    """Too short, non-digit or off-Sweden ids are refused, naming the id."""
    with pytest.raises(InputError, match=bad):
        decode_rutid(["3520006860000", bad])


def test_decode_rutid_given_cell_size_must_fit_the_corners() -> None:
    """A 1 km cell size contradicted by a 250 m corner is an error naming the row."""
    with pytest.raises(InputError, match=r"row 2.*1000 m grid"):
        decode_rutid(["5340006718000", "5342506718000"], cell_size_m=1000)


# --- SCB grids ------------------------------------------------------------------------------


def test_load_scb_csv_keeps_cells_centres_and_attributes() -> None:
    """The 1 km CSV loads in EPSG:3006 with centres, squares and the 65+ column kept."""
    demand = load_population(SCB_1KM)
    assert demand.crs == "EPSG:3006"
    assert demand["demand_id"].tolist()[0] == "4290006728000"
    assert demand["population"].sum() == 5957
    assert demand["befolkning_65_plus_2025"].sum() == 1353
    assert demand["kommunkod"].tolist()[:3] == ["2023", "2023", "2021"]
    first = demand.iloc[0]
    assert (first.geometry.x, first.geometry.y) == (429500, 6728500)
    assert first["cell"].area == pytest.approx(1e6)
    assert first["cell"].centroid.equals(first.geometry)


def test_load_scb_250m_semicolon_csv() -> None:
    """A semicolon-separated 250 m file with SCB's 'Ruta'/'Beftotalt' names loads."""
    demand = load_population(SCB_250M)
    assert len(demand) == 5
    assert demand["population"].sum() == 240
    assert demand["cell"].area.tolist() == [62500.0] * 5
    assert demand.geometry.iloc[2].coords[0] == (534625, 6718875)


def test_aggregate_250m_to_1km_preserves_people() -> None:
    """Summing 250 m cells into 1 km cells gives SCB 1 km ids and the hand-counted totals."""
    coarse = aggregate_population(load_population(SCB_250M), cell_size_m=1000)
    assert coarse["demand_id"].tolist() == ["5340006718000", "5350006718000"]
    assert coarse["population"].tolist() == [230.0, 10.0]
    assert coarse.geometry.iloc[0].coords[0] == (534500, 6718500)


def test_round_trip_geopackage_and_geojson(tmp_path: Path) -> None:
    """Cells written to GeoPackage (SWEREF99 TM) and GeoJSON (WGS84) load back unchanged."""
    demand = load_population(SCB_1KM)
    layer = gpd.GeoDataFrame(
        demand.drop(columns=["geometry", "demand_id"]), geometry="cell", crs="EPSG:3006"
    )
    layer.to_file(tmp_path / "cells.gpkg", layer="befolkning")
    layer.to_crs("EPSG:4326").to_file(tmp_path / "cells.geojson")
    for path in (tmp_path / "cells.gpkg", tmp_path / "cells.geojson"):
        again = load_population(path)
        assert again["demand_id"].tolist() == demand["demand_id"].tolist()
        assert again["population"].tolist() == demand["population"].tolist()
        assert again.geometry.distance(demand.geometry).max() < 0.01
        assert again["befolkning_65_plus_2025"].sum() == 1353


def test_round_trip_point_layer_with_rutid(tmp_path: Path) -> None:
    """A point layer that carries rutid gets its cells decoded from the ids."""
    demand = load_population(SCB_1KM)
    points = gpd.GeoDataFrame(demand.drop(columns=["cell", "demand_id"]), crs="EPSG:3006")
    points.to_file(tmp_path / "points.gpkg")
    again = load_population(tmp_path / "points.gpkg")
    assert again["cell"].area.tolist() == [1e6] * 5
    assert again["population"].sum() == 5957


def test_a_file_of_several_layers_warns_which_layer_it_read(tmp_path: Path) -> None:
    """pyogrio's own warning names neither file nor option; ours names both and the layer."""
    demand = load_population(SCB_1KM)
    points = gpd.GeoDataFrame(demand.drop(columns=["cell", "demand_id"]), crs="EPSG:3006")
    points.to_file(tmp_path / "two.gpkg", layer="tatort")
    points.iloc[:2].to_file(tmp_path / "two.gpkg", layer="kommun")
    with pytest.warns(SitingWarning, match=r"two.gpkg: read layer 'tatort' of .*option layer"):
        first = load_population(tmp_path / "two.gpkg")
    assert first["population"].sum() == 5957
    assert len(load_population(tmp_path / "two.gpkg", layer="kommun")) == 2


def test_a_text_value_in_a_geojson_number_column_is_named(tmp_path: Path) -> None:
    """GeoJSON property "x" among numbers: no pyogrio warning, one error naming the value."""
    path = tmp_path / "mixed.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"population": 5},'
        ' "geometry": {"type": "Point", "coordinates": [15.0, 60.0]}},'
        '{"type": "Feature", "properties": {"population": "x"},'
        ' "geometry": {"type": "Point", "coordinates": [15.1, 60.1]}}]}',
        encoding="utf-8",
    )
    with pytest.raises(
        InputError, match=r"mixed.geojson: column 'population' feature 2: value 'x'"
    ):
        load_population(path)


def test_round_trip_csv_with_coordinates(tmp_path: Path) -> None:
    """Points written as lon/lat and as e/n columns load back to the same places."""
    demand = load_population(SCB_1KM)
    wgs84 = demand.geometry.to_crs("EPSG:4326")
    table = pd.DataFrame({"population": demand["population"], "lon": wgs84.x, "lat": wgs84.y})
    table.to_csv(tmp_path / "lonlat.csv", index=False)
    table_en = pd.DataFrame(
        {"population": demand["population"], "e": demand.geometry.x, "n": demand.geometry.y}
    )
    table_en.to_csv(tmp_path / "en.csv", index=False)
    for name in ("lonlat.csv", "en.csv"):
        again = load_population(tmp_path / name)
        assert again.geometry.distance(demand.geometry).max() < 0.01
        assert again["demand_id"].tolist() == ["d0", "d1", "d2", "d3", "d4"]
        assert again["cell"].isna().all()


def test_load_polygons_keeps_areas_and_puts_points_inside() -> None:
    """DeSO-like polygons keep their shape; a U-shaped area's point lies inside it."""
    demand = load_population(DESO)
    assert demand["demand_id"].tolist() == ["2080X0001", "2080X0002"]
    assert demand["population"].tolist() == [100.0, 50.0]
    assert demand.geometry.within(demand["cell"]).all()
    u_shape = demand["cell"].iloc[0]
    assert not u_shape.centroid.within(u_shape)  # the case the representative point is for


def test_load_geodataframe_in_memory() -> None:
    """An in-memory GeoDataFrame in WGS84 is reprojected to SWEREF99 TM."""
    frame = gpd.GeoDataFrame(
        {"population": [10, 20]}, geometry=[Point(15.63, 60.605), Point(13.7, 60.7)], crs=4326
    )
    demand = load_population(frame)
    assert demand.crs == "EPSG:3006"
    assert demand.geometry.iloc[0].x == pytest.approx(534496.0, abs=1)


def test_region_clip_preserves_population_totals(caplog: pytest.LogCaptureFixture) -> None:
    """Clipping to each municipality partitions the people; the log accounts for the rest."""
    total = load_population(SCB_1KM)["population"].sum()
    parts = {code: load_population(SCB_1KM, region=code) for code in ("2023", "2021", "2080")}
    parts["2081"] = load_population(SCB_1KM, region="Borlänge")
    assert sum(p["population"].sum() for p in parts.values()) == total
    assert parts["2023"]["population"].sum() == 907
    with caplog.at_level(logging.INFO, logger="siting"):
        county = load_population(SCB_1KM, region="Dalarnas län")
    assert county["population"].sum() == total
    assert "dropped 0 rows (0 people)" in caplog.text


def test_region_clip_by_geometry_when_no_code_column(caplog: pytest.LogCaptureFixture) -> None:
    """Without a code column, cells are placed by location and the dropped ones logged."""
    demand = load_population(SCB_1KM).drop(columns=["kommunkod"])
    with caplog.at_level(logging.INFO, logger="siting"):
        malung = load_population(demand, region="Malung-Sälen")
    assert malung["demand_id"].tolist() == ["4290006728000", "4300006728000"]
    assert "dropped 3 rows (5050 people)" in caplog.text


def test_chosen_column_counts_even_beside_a_population_column(tmp_path: Path) -> None:
    """People 65+ chosen to count replace the table's own population column."""
    text = "rutid,population,age_65_plus\n3520006860000,30,7\n3530006860000,10,4\n"
    demand = load_population(_write(tmp_path, "x.csv", text), population_column="age_65_plus")
    assert demand["population"].tolist() == [7.0, 4.0]
    assert "age_65_plus" not in demand.columns


# --- bad input ------------------------------------------------------------------------------


def test_missing_population_column(tmp_path: Path) -> None:
    """A file without a population column names the file and the columns it has."""
    path = _write(tmp_path, "x.csv", "rutid,folk\n3520006860000,3\n")
    hint = "rutid, folk; name it with the option population_column$"
    with pytest.raises(InputError, match=rf"x\.csv: no population column.*{hint}"):
        load_population(path)


def test_named_population_column_missing(tmp_path: Path) -> None:
    """Asking for a column that is not there names it."""
    with pytest.raises(InputError, match="'invanare' is missing"):
        load_population(SCB_1KM, population_column="invanare")


def test_non_numeric_population(tmp_path: Path) -> None:
    """Text in the population column is reported with its line and value."""
    path = _write(tmp_path, "x.csv", "rutid,population\n3520006860000,3\n3530006860000,tre\n")
    with pytest.raises(InputError, match=r"x\.csv: column 'population' line 3: value 'tre'"):
        load_population(path)


def test_negative_population(tmp_path: Path) -> None:
    """A negative head count is reported with its line and value."""
    path = _write(tmp_path, "x.csv", "rutid,population\n3520006860000,-4\n")
    with pytest.raises(InputError, match=r"line 2: value '-4' is below 0"):
        load_population(path)


def test_missing_population_value(tmp_path: Path) -> None:
    """An empty population cell is an error, not a zero."""
    path = _write(tmp_path, "x.csv", "rutid,population\n3520006860000,\n")
    with pytest.raises(InputError, match=r"line 2: value is missing"):
        load_population(path)


def test_nan_coordinates(tmp_path: Path) -> None:
    """A missing coordinate is reported with its column and line."""
    path = _write(tmp_path, "x.csv", "lon,lat,population\n15.6,60.6,3\n,60.7,4\n")
    with pytest.raises(InputError, match=r"column 'lon' line 3: value is missing"):
        load_population(path)


def test_missing_geometry_in_layer() -> None:
    """A feature without geometry is reported by its number."""
    frame = gpd.GeoDataFrame({"population": [1, 2]}, geometry=[Point(15, 60), None], crs=4326)
    with pytest.raises(InputError, match="row 1: geometry is missing"):
        load_population(frame)


def test_no_crs_where_one_is_needed(tmp_path: Path) -> None:
    """Plain x/y columns and a layer without CRS need crs=; given, they load."""
    path = _write(tmp_path, "x.csv", "x,y,population\n534500,6718500,3\n")
    with pytest.raises(InputError, match=r"x\.csv: no CRS is stated; set the option crs"):
        load_population(path)
    assert load_population(path, crs="EPSG:3006").geometry.iloc[0].x == 534500
    frame = gpd.GeoDataFrame({"population": [1]}, geometry=[Point(534500, 6718500)])
    with pytest.raises(InputError, match="no CRS is stated"):
        load_population(frame)


def test_crs_mismatch_with_file(tmp_path: Path) -> None:
    """A crs= that contradicts the file's own CRS is refused, naming both."""
    with pytest.raises(InputError, match=r"CRS mismatch: the data is in EPSG:4326.*EPSG:3006"):
        load_population(DESO, crs="EPSG:3006")


def test_degrees_in_metric_columns(tmp_path: Path) -> None:
    """Longitudes written in e/n columns are caught as a CRS mismatch."""
    path = _write(tmp_path, "x.csv", "e,n,population\n15.6,60.6,3\n")
    with pytest.raises(InputError, match=r"CRS mismatch.*look.*like degrees"):
        load_population(path)


def test_metres_in_degree_columns(tmp_path: Path) -> None:
    """SWEREF99 TM metres in lon/lat columns are caught as a CRS mismatch."""
    path = _write(tmp_path, "x.csv", "lon,lat,population\n534500,6718500,3\n")
    with pytest.raises(InputError, match="CRS mismatch: EPSG:4326 is in degrees"):
        load_population(path)


def test_duplicate_demand_ids(tmp_path: Path) -> None:
    """A repeated rutid names the id and both lines."""
    path = _write(tmp_path, "x.csv", "rutid,population\n3520006860000,3\n3520006860000,4\n")
    with pytest.raises(InputError, match=r"'3520006860000' repeats \(line 2 and line 3\)"):
        load_population(path)


def test_region_matching_nothing() -> None:
    """An unknown region name suggests the nearest real ones."""
    with pytest.raises(InputError, match=r"'Dalarana' matches no.*did you mean Dalarnas län"):
        load_population(SCB_1KM, region="Dalarana")


def test_empty_selection() -> None:
    """A real region that holds none of the cells is an error, not an empty result."""
    with pytest.raises(InputError, match=r"scb_1km_small\.csv: no row lies in Sollefteå"):
        load_population(SCB_1KM, region="Sollefteå")


def test_unknown_file_type(tmp_path: Path) -> None:
    """A file of unknown type names its suffix."""
    path = _write(tmp_path, "x.xlsx", "")
    with pytest.raises(InputError, match=r"unknown file type '\.xlsx'"):
        load_population(path)


def test_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is an InputError naming it."""
    with pytest.raises(InputError, match=r"nope\.csv: no such file"):
        load_population(tmp_path / "nope.csv")


# --- rasters --------------------------------------------------------------------------------


def _write_raster(path: Path, values: np.ndarray, *, crs: str | None = "EPSG:3006") -> None:
    rasterio = pytest.importorskip("rasterio")
    from affine import Affine

    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype="float32",
        crs=crs,
        transform=Affine(1000, 0, 534000, 0, -1000, 6720000),
        nodata=-200,
    ) as dataset:
        dataset.write(values.astype("float32"), 1)


def test_raster_pixels_become_cells(tmp_path: Path) -> None:
    """Populated pixels become 1 km cells; zero and nodata pixels are skipped."""
    path = tmp_path / "pop.tif"
    _write_raster(path, np.array([[5.0, 0.0, 2.5], [-200.0, 7.0, 1.0]]))
    demand = load_population(path)
    assert demand["demand_id"].tolist() == ["r0c0", "r0c2", "r1c1", "r1c2"]
    assert demand["population"].sum() == pytest.approx(15.5)
    assert demand.geometry.iloc[0].coords[0] == pytest.approx((534500, 6719500))
    assert demand["cell"].area.tolist() == pytest.approx([1e6] * 4)


def test_raster_in_another_crs_is_reprojected(tmp_path: Path) -> None:
    """A raster stated in another CRS lands in SWEREF99 TM at the right place."""
    path = tmp_path / "pop.tif"
    _write_raster(path, np.array([[3.0]]), crs="EPSG:3035")
    demand = load_population(path)
    expected = gpd.GeoSeries([Point(534500, 6719500)], crs=3035).to_crs(3006).iloc[0]
    assert demand.geometry.iloc[0].distance(expected) < 0.01


def test_raster_negative_value_is_an_error(tmp_path: Path) -> None:
    """A negative pixel that is not nodata is reported by row and column."""
    path = tmp_path / "pop.tif"
    _write_raster(path, np.array([[1.0, -3.0]]))
    with pytest.raises(InputError, match="pixel row 0, column 1: population -3"):
        load_population(path)


def test_raster_without_crs_needs_one(tmp_path: Path) -> None:
    """A raster without a CRS needs crs=, and loads with it."""
    path = tmp_path / "pop.tif"
    _write_raster(path, np.array([[1.0]]), crs=None)
    with pytest.raises(InputError, match="no CRS is stated"):
        load_population(path)
    assert load_population(path, crs="EPSG:3006")["population"].sum() == 1


def test_raster_region_reads_only_its_window(tmp_path: Path) -> None:
    """With a region, only pixels in it are kept and the total is theirs."""
    path = tmp_path / "pop.tif"
    _write_raster(path, np.array([[5.0, 2.0]]))
    falun = load_population(path, region="Falun")
    assert falun["population"].sum() == 7


def test_raster_without_rasterio_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When rasterio is missing the error says to install siting[raster]."""
    path = tmp_path / "pop.tif"
    path.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "rasterio", None)
    with pytest.raises(InputError, match=r"install siting\[raster\]"):
        load_population(path)


def test_polygon_fixture_is_valid() -> None:
    """The hand-made DeSO fixture polygons are valid (guards the other tests)."""
    frame = gpd.read_file(DESO)
    assert frame.is_valid.all()
    assert isinstance(frame.geometry.iloc[0], Polygon)
