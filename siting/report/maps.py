"""Write interactive folium maps of demand, offices, travel times, catchments and boundaries."""

from __future__ import annotations

import html
import itertools
import logging
import math
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, Unpack

import folium
import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely

from siting._core.atomic import write_text_atomic
from siting._core.errors import InputError
from siting.inputs.regions import Level, load_boundaries
from siting.report import layers as ml
from siting.report.access_layer import (
    ACCESS_COLORS,
    PER_PEOPLE,
    AccessClasses,
    access_classes,
    access_legend,
)
from siting.report.assets import embedded_leaflet
from siting.report.cellraster import CellSampler
from siting.report.csp import PageSources, add_content_security_policy, tile_source, url_source
from siting.report.texts import (
    LABELS,
    Language,
    check_language,
    escape_text,
    format_minutes,
    format_number,
)
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)

WGS84 = "EPSG:4326"
#: upper bounds (inclusive) of the travel-time classes 0-15, 15-30, 30-45, 45-60, 60+ minutes
TIME_BREAKS_MIN = (15.0, 30.0, 45.0, 60.0)
#: colours of those classes, then of "not reached" (no route, or beyond the matrix cut-off)
TIME_COLORS = ("#1a9850", "#a6d96a", "#fee08b", "#f46d43", "#a50026", "#8c8c8c")
#: lower bounds of the population classes of a cell or locality
POPULATION_BREAKS = (1, 5, 20, 100, 500, 2000)
POPULATION_COLORS = ("#f2f0f7", "#dadaeb", "#bcbddc", "#9e9ac8", "#756bb1", "#54278f")
CATCHMENT_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
)  # fmt: skip
#: grids with more cells than this are drawn as images (page size; see scripts/bench_maps.py)
MAX_VECTOR_CELLS = 5_000
#: office symbol per shown status: (shape, colour)
SITE_SYMBOLS = {
    "existing": ("circle", "#1c5fb8"),
    "new": ("star", "#2b8a3e"),
    "closed": ("cross", "#6c6c6c"),
    "may_close": ("triangle", "#e8590c"),
    "candidate": ("square", "#868e96"),
}
_SITE_STATUSES = tuple(SITE_SYMBOLS)
_BOUNDARY_STYLE = {
    "kommun": {"color": "#495057", "weight": 1, "dashArray": "4 3", "fill": False},
    "lan": {"color": "#212529", "weight": 2.5, "fill": False},
}
_BOUNDARY_SIMPLIFY_M = {"kommun": 200.0, "lan": 500.0, "fa": 500.0}


@dataclass(frozen=True)
class MapOptions:
    """How a map looks: language, title, background, boundaries, how cells are drawn.

    Attributes
    ----------
    boundaries
        Region levels to draw (``"kommun"``, ``"lan"``, ``"fa"``), cut to the map's extent.
    language
        ``"sv"`` (default) or ``"en"``.
    title
        Page title (shown in the browser tab and the legend); None for the time layer's name.
    tiles
        Background map (a folium tile name), or None for none (offline pages, tests).
    max_vector_cells
        Grids with more cells are drawn as images: a page with 100,000 cell polygons is too
        heavy for browsers (scripts/bench_maps.py measures it).
    leaflet_url
        None (default) to write the installed Leaflet into the page, which then opens
        without internet wherever it is copied; or the http(s) or relative URL of a folder
        holding ``leaflet.js`` and ``leaflet.css`` (`siting.report.layers.LEAFLET_CDN`, or
        ``assets/leaflet`` for a site that shares one copy).
    """

    boundaries: Sequence[Level] = ("kommun", "lan")
    language: Language = "sv"
    title: str | None = None
    tiles: str | None = "OpenStreetMap"
    max_vector_cells: int = MAX_VECTOR_CELLS
    leaflet_url: str | None = None

    def __post_init__(self) -> None:
        check_language(self.language)
        if self.leaflet_url is not None:
            url_source(self.leaflet_url)  # refuses javascript:, data: and quotes
        object.__setattr__(self, "boundaries", tuple(self.boundaries))


_DEFAULT_OPTIONS = MapOptions()


@dataclass(frozen=True)
class MapData:
    """What a map shows, aligned and checked (see `prepare_map_data`)."""

    demand: gpd.GeoDataFrame
    minutes: npt.NDArray[np.float64]
    assigned_site: npt.NDArray[Any]
    sites: gpd.GeoDataFrame
    shown_status: npt.NDArray[Any]
    model: str
    cutoff_min: float | None = None

    @property
    def has_cells(self) -> bool:
        """Whether demand comes with grid cell polygons (a ``cell`` column, none missing)."""
        if "cell" not in self.demand.columns:
            return False
        return bool(self.demand["cell"].notna().all())


def time_class(minutes: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Class of each travel time: 0 for 0-15 min (15 included), ..., 4 for over 60, 5 unreached.

    Examples
    --------
    >>> time_class([0, 15, 15.1, 59.9, 60, 61, float("inf")]).tolist()
    [0, 0, 1, 3, 3, 4, 5]
    """
    values = np.asarray(minutes, dtype=np.float64)
    classes = np.searchsorted(np.asarray(TIME_BREAKS_MIN), values, side="left").astype(np.int64)
    classes[~np.isfinite(values)] = len(TIME_BREAKS_MIN) + 1
    return classes


def population_class(population: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Class of each population count by `POPULATION_BREAKS` (0 for fewer than 5 people)."""
    values = np.asarray(population, dtype=np.float64)
    classes = np.searchsorted(np.asarray(POPULATION_BREAKS), values, side="right") - 1
    return np.clip(classes, 0, len(POPULATION_BREAKS) - 1).astype(np.int64)


def nearest_office(od: ODMatrix) -> pd.DataFrame:
    """Nearest destination of every origin, as the table `write_map` takes.

    Returns
    -------
    DataFrame
        ``demand_id``, ``site_id`` (None where none is reachable) and ``minutes`` (NaN there):
        the same columns as `Solution.assignment_table`, so either feeds a map.
    """
    nearest = od.nearest(1)
    column = nearest.index[:, 0]
    reached = column >= 0
    site_ids = np.full(column.size, None, dtype=object)
    site_ids[reached] = od.destination_ids[column[reached]]
    minutes = np.where(reached, nearest.minutes[:, 0].astype(np.float64), math.nan)
    return pd.DataFrame({"demand_id": od.origin_ids, "site_id": site_ids, "minutes": minutes})


class MapParts(TypedDict, total=False):
    """What a map shows beside demand, sites and times; the keywords of `write_map`."""

    model: str | None
    #: lines under the travel model's name, such as the same offices by another mode
    notes: Sequence[str]
    opened: Collection[Any]
    closed: Collection[Any]
    options: MapOptions
    routes: gpd.GeoDataFrame | None
    stops: gpd.GeoDataFrame | None
    #: per demand point, an accessibility index (E2SFCA) drawn as a layer by quintiles
    access: npt.ArrayLike | None


def write_map(
    path: str | os.PathLike[str],
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    travel: pd.DataFrame | ODMatrix,
    **parts: Unpack[MapParts],
) -> Path:
    """Write an interactive map of one scenario to an HTML file, atomically.

    Parameters
    ----------
    path
        The HTML file to write.
    demand
        Demand points (`load_population`): ``demand_id``, ``population``, point geometry,
        and grid cell polygons in a ``cell`` column for grids (drawn as cells).
    sites
        Offices and candidates (`load_sites`): ``site_id``, ``name``, ``status``.
    travel
        The travel time from every demand point to the office that serves it: a table with
        ``demand_id``, ``minutes`` (NaN or inf = not reached) and, for catchments and people
        served, ``site_id`` (`nearest_office`, `Solution.assignment_table`); or an `ODMatrix`,
        whose nearest destination is taken.
    model
        The travel-time model, named on the map ("road network", "straight-line fallback",
        or any text). Taken from the matrix's metadata when `travel` is an `ODMatrix`.
    opened, closed
        Site ids to mark as new or closed offices (a scenario's changes).
    options
        Language, title, background tiles, boundaries and cell drawing (`MapOptions`).
    routes, stops
        Mobile offices: tours as lines (``name`` column optional) and their stops as points
        (``name`` and ``days``, e.g. "tisdagar"), drawn in one layer.
    access
        Per demand point (demand order), an accessibility index such as E2SFCA
        (`siting.locate.accessibility`): a layer of its quintiles, hidden at first.

    Returns
    -------
    Path
        `path`.

    Raises
    ------
    InputError
        Missing columns, demand ids without a travel time, unknown opened/closed site ids,
        or no model named.
    """
    figure = build_map(demand, sites, travel, **parts)
    options = parts.get("options", _DEFAULT_OPTIONS)
    # folium writes a bare <html>; screen readers need the page's language
    language = options.language
    page = figure.get_root().render().replace("<html>", f'<html lang="{language}">', 1)
    page = add_content_security_policy(page, _page_sources(figure, options.leaflet_url))
    written = write_text_atomic(path, page)
    logger.info("map: %s (%.2f MB)", written, len(page.encode("utf-8")) / 1e6)
    return written


def build_map(
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    travel: pd.DataFrame | ODMatrix,
    **parts: Unpack[MapParts],
) -> folium.Map:
    """Build the folium map that `write_map` writes (same parameters, without `path`)."""
    options = parts.get("options", _DEFAULT_OPTIONS)
    lang, title = options.language, options.title
    data = prepare_map_data(
        demand, sites, travel, model=parts.get("model"),
        opened=parts.get("opened", ()), closed=parts.get("closed", ()),
    )  # fmt: skip
    figure = _new_map(options.tiles, options.leaflet_url, title or LABELS[lang]["time_layer"], lang)
    given = parts.get("access")
    access = None if given is None else access_classes(given, len(data.demand))
    image_cells = _add_demand_layers(figure, data, lang, options.max_vector_cells, access)
    if image_cells is None and pd.notna(data.assigned_site).any():
        _add_catchments(figure, data, lang)
    for position, level in enumerate(options.boundaries):
        # with cells as images, the first level listed (the finest) carries hover statistics
        _add_boundaries(
            figure, level, data, lang, with_stats=image_cells is not None and position == 0
        )
    _add_sites(figure, data, lang)
    routes, stops = parts.get("routes"), parts.get("stops")
    if routes is not None or stops is not None:
        _add_mobile(figure, routes, stops, lang)
    folium.LayerControl(collapsed=False).add_to(figure)
    ml.ViewSync().add_to(figure)
    _add_legend(figure, data, lang, title, image_cells, parts.get("notes", ()), access)
    figure.fit_bounds(_bounds(data))
    return figure


def prepare_map_data(
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    travel: pd.DataFrame | ODMatrix,
    *,
    model: str | None,
    opened: Collection[Any] = (),
    closed: Collection[Any] = (),
) -> MapData:
    """Check the inputs of a map and align travel times to the demand rows."""
    _require(demand, ("demand_id", "population"), "demand")
    _require(sites, ("site_id", "name", "status"), "sites")
    cutoff_min = None
    if isinstance(travel, ODMatrix):
        model = model or str(travel.metadata.get("model", ""))
        cutoff = travel.metadata.get("max_minutes")
        cutoff_min = float(cutoff) if cutoff is not None else None
        travel = nearest_office(travel)
    if not model:
        msg = "model: name the travel-time model shown on the map (e.g. 'road network')"
        raise InputError(msg)
    minutes, assigned = align_travel(demand, travel)
    return MapData(
        demand=demand.reset_index(drop=True),
        minutes=minutes,
        assigned_site=assigned,
        sites=sites.reset_index(drop=True),
        shown_status=_shown_status(sites, opened, closed),
        model=model,
        cutoff_min=cutoff_min,
    )


def _require(frame: Any, columns: Sequence[str], name: str) -> None:
    if not isinstance(frame, gpd.GeoDataFrame) or frame.crs is None:
        msg = f"{name}: expected a GeoDataFrame with a CRS, got {type(frame).__name__}"
        raise InputError(msg)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        msg = f"{name}: missing column(s) {', '.join(missing)}"
        raise InputError(msg)


def align_travel(
    demand: gpd.GeoDataFrame, travel: pd.DataFrame
) -> tuple[npt.NDArray[np.float64], npt.NDArray[Any]]:
    """Minutes (inf = not reached) and serving site id (None) per demand row, from `travel`."""
    if not {"demand_id", "minutes"} <= set(travel.columns):
        msg = "travel: needs columns demand_id and minutes (and site_id for catchments)"
        raise InputError(msg)
    table = travel.drop_duplicates("demand_id")
    # one hash lookup over plain str objects: Series.isin on pandas' Arrow strings converted
    # every id to a pyarrow scalar (about 1 s per call at 150,000 cells; 9 calls a run)
    index = pd.Index(table["demand_id"].astype(str).to_numpy(dtype=object))
    keys = demand["demand_id"].astype(str).to_numpy(dtype=object)
    positions = index.get_indexer(keys)
    missing = positions < 0
    if missing.any():
        msg = (
            f"travel: {int(missing.sum())} demand point(s) have no travel time, "
            f"e.g. demand_id {keys[missing][0]!r}"
        )
        raise InputError(msg)
    rows = table.iloc[positions]
    minutes = pd.to_numeric(rows["minutes"], errors="coerce").to_numpy(dtype=np.float64)
    minutes = np.where(np.isnan(minutes), np.inf, minutes)
    if (minutes < 0).any():
        msg = f"travel: minutes must be >= 0, got {float(minutes.min())}"
        raise InputError(msg)
    if "site_id" in rows.columns:
        assigned = rows["site_id"].to_numpy(dtype=object)
        assigned = np.where(np.isfinite(minutes), assigned, None)
    else:
        assigned = np.full(len(rows), None, dtype=object)
    return minutes, assigned


def _shown_status(
    sites: gpd.GeoDataFrame, opened: Collection[Any], closed: Collection[Any]
) -> npt.NDArray[Any]:
    ids = sites["site_id"].astype(str)
    for name, chosen in (("opened", opened), ("closed", closed)):
        unknown = sorted({str(site) for site in chosen} - set(ids))
        if unknown:
            msg = f"{name}: unknown site id(s) {', '.join(unknown[:5])}"
            raise InputError(msg)
    status = sites["status"].astype(str).to_numpy(dtype=object)
    status = np.where(np.isin(status, _SITE_STATUSES), status, "existing")
    status = np.where(ids.isin({str(site) for site in opened}), "new", status)
    return np.where(ids.isin({str(site) for site in closed}), "closed", status)


def _new_map(tiles: str | None, leaflet_url: str | None, title: str, lang: Language) -> folium.Map:
    figure = folium.Map(tiles=None, control_scale=True, prefer_canvas=True)
    if tiles:
        folium.TileLayer(tiles, name=LABELS[lang]["background"]).add_to(figure)
    root: Any = figure.get_root()
    # Leaflet only: nothing here needs jQuery, Bootstrap or icon fonts, and a self-contained
    # page or site then needs just Leaflet's own files
    if leaflet_url is None:
        figure.default_js, figure.default_css = [], []
        leaflet = embedded_leaflet()
        root.header.add_child(folium.Element(f"<style>{leaflet.css}</style>"), name="leaflet_css")
        root.header.add_child(folium.Element(f"<script>{leaflet.script}</script>"), name="leaflet")
    else:
        base = leaflet_url.rstrip("/")
        figure.default_js = [("leaflet", f"{base}/leaflet.js")]
        figure.default_css = [("leaflet_css", f"{base}/leaflet.css")]
    # folium's page template writes the title as it is: escape it here
    root.title = html.escape(title, quote=True)
    root.header.add_child(folium.Element(f"<style>{ml.SITE_CSS}</style>"), name="siting_css")
    return figure


def _page_sources(figure: folium.Map, leaflet_url: str | None) -> PageSources:
    """What a map page loads besides its inline scripts: linked Leaflet, background tiles."""
    leaflet = () if leaflet_url is None else (url_source(leaflet_url),)
    tiles = tuple(
        tile_source(str(child.tiles))
        for child in figure._children.values()
        if isinstance(child, folium.TileLayer)
    )
    return PageSources(scripts=leaflet, styles=leaflet, images=(*leaflet, *tiles))


def _wgs84_points(frame: gpd.GeoDataFrame) -> npt.NDArray[Any]:
    points = frame.geometry.to_crs(WGS84)
    return np.asarray(points.representative_point().to_numpy(), dtype=object)


def _site_names(data: MapData) -> dict[str, str]:
    return dict(zip(data.sites["site_id"].astype(str), data.sites["name"].astype(str), strict=True))


def _add_demand_layers(
    figure: folium.Map, data: MapData, lang: Language, max_cells: int, access: AccessClasses | None
) -> int | None:
    """Population, travel-time (and accessibility) layers; returns the cell count if drawn
    as images."""
    labels = LABELS[lang]
    time_classes = time_class(data.minutes)
    population_classes = population_class(data.demand["population"].to_numpy(dtype=np.float64))
    if data.has_cells and len(data.demand) > max_cells:
        _add_cell_images(figure, data, time_classes, population_classes, lang, access)
        return len(data.demand)
    shapes, radius, path_style = _demand_shapes(data)
    tooltips = _demand_tooltips(data, lang)
    properties = [
        {"c": int(c), "q": int(q), "t": t, "r": round(float(r), 1)}
        for c, q, t, r in zip(time_classes, population_classes, tooltips, radius, strict=True)
    ]
    layers = [
        (labels["population_layer"], POPULATION_COLORS, "q", False),
        (labels["time_layer"], TIME_COLORS, "c", True),
    ]
    if access is not None:
        for feature, level in zip(properties, access.classes, strict=True):
            feature["a"] = int(level)
        layers.append((_access_name(lang), ACCESS_COLORS, "a", False))
    # one copy of the features in the page, drawn by each layer with its own classes
    shared = ml.SharedData(ml.feature_collection(shapes, properties))
    shared.add_to(figure)
    for name, colors, key, show in layers:
        ml.ClassedGeoJson(
            None, data_var=shared.get_name(), name=name, colors=colors, class_key=key,
            path_style=path_style, show=show,
        ).add_to(figure)  # fmt: skip
    return None


def _demand_shapes(
    data: MapData,
) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64], dict[str, Any]]:
    """WGS84 shapes (cells or points), circle radii (points) and the path style."""
    if data.has_cells:
        geometries = gpd.GeoSeries(data.demand["cell"], crs=data.demand.crs).to_crs(WGS84)
        # a hairline in the fill colour keeps cells visible when zoomed out below a pixel
        style: dict[str, Any] = {"weight": 0.5, "opacity": 0.7, "fillOpacity": 0.7}
        return (
            np.asarray(geometries.to_numpy(), dtype=object),
            np.full(len(data.demand), 5.0),
            style,
        )
    population = data.demand["population"].to_numpy(dtype=np.float64)
    radius = np.clip(2.0 + np.sqrt(population) / 12.0, 3.0, 14.0)
    style = {"weight": 1, "color": "#343a40", "fillOpacity": 0.85}
    return _wgs84_points(data.demand), radius, style


def _demand_tooltips(data: MapData, lang: Language) -> list[str]:
    names = _site_names(data)
    return [
        _demand_tooltip(row, people, minutes, names.get(str(site), ""), lang)
        for row, people, minutes, site in zip(
            data.demand.itertuples(index=False),
            data.demand["population"].to_numpy(dtype=np.float64),
            data.minutes,
            data.assigned_site,
            strict=True,
        )
    ]


def _demand_tooltip(row: Any, people: float, minutes: float, office: str, lang: Language) -> str:
    labels = LABELS[lang]
    parts = []
    name = getattr(row, "name", None)
    if isinstance(name, str) and name:
        parts.append(f"<b>{escape_text(name)}</b>")
    parts.append(f"{labels['population']}: {format_number(people, lang)}")
    if math.isfinite(minutes):
        parts.append(f"{labels['travel_time']}: {format_minutes(minutes, lang)}")
    else:
        parts.append(f"{labels['travel_time']}: {labels['not_reached']}")
    if office:
        parts.append(f"{labels['nearest_office']}: {escape_text(office)}")
    return "<br>".join(parts)


def _cell_size_m(cells: gpd.GeoSeries) -> float:
    bounds = cells.bounds
    return float(np.median(bounds["maxx"] - bounds["minx"]))


def _add_cell_images(
    figure: folium.Map,
    data: MapData,
    time_classes: npt.NDArray[np.int64],
    population_classes: npt.NDArray[np.int64],
    lang: Language,
    access: AccessClasses | None,
) -> None:
    labels = LABELS[lang]
    cells = gpd.GeoSeries(data.demand["cell"], crs=data.demand.crs)
    centres = cells.centroid
    size = _cell_size_m(cells)
    layers: list[tuple[npt.NDArray[np.int64], Sequence[str], str, bool]] = [
        (population_classes, POPULATION_COLORS, labels["population_layer"], False),
        (time_classes, TIME_COLORS, labels["time_layer"], True),
    ]
    served = pd.notna(data.assigned_site)
    if served.any():
        # catchments of a large grid as an image too: merged cell outlines of 100,000 cells
        # weigh megabytes (scripts/bench_maps.py); offices' popups still give people served
        sites = data.assigned_site.astype(str)
        order = {site: position for position, site in enumerate(sorted(set(sites[served])))}
        catchment = np.array(
            [
                order[site] % len(CATCHMENT_COLORS) if ok else -1
                for site, ok in zip(sites, served, strict=True)
            ]
        )
        layers.append((catchment, CATCHMENT_COLORS, labels["catchment_layer"], False))
    if access is not None:
        layers.append((access.classes, ACCESS_COLORS, _access_name(lang), False))
    sampler = CellSampler(centres.x, centres.y, cell_size_m=size, crs=str(data.demand.crs))
    for classes, colors, name, show in layers:
        image = sampler.image(classes, colors)
        folium.raster_layers.ImageOverlay(
            image.data_url(), bounds=image.bounds, name=name, opacity=0.75, show=show
        ).add_to(figure)
    logger.info("map: %d cells drawn as images", len(cells))


def _site_stats(data: MapData) -> pd.DataFrame:
    """People served, population-weighted mean and worst minutes per site id."""
    table = pd.DataFrame(
        {
            "site_id": pd.Series(data.assigned_site, dtype=object).astype("string"),
            "people": data.demand["population"].to_numpy(dtype=np.float64),
            "minutes": data.minutes,
        }
    ).dropna(subset=["site_id"])
    table["weighted"] = table["people"] * table["minutes"]
    grouped = table.groupby("site_id")
    stats = pd.DataFrame(
        {
            "people": grouped["people"].sum(),
            "weighted": grouped["weighted"].sum(),
            "worst": grouped["minutes"].max(),
        }
    )
    stats["mean"] = stats["weighted"] / stats["people"].where(stats["people"] > 0)
    return stats


def _add_sites(figure: folium.Map, data: MapData, lang: Language) -> None:
    labels = LABELS[lang]
    stats = _site_stats(data)
    known = bool(pd.notna(data.assigned_site).any())
    icons = [ml.svg_symbol(*SITE_SYMBOLS[status]) for status in _SITE_STATUSES]
    points = _wgs84_points(data.sites)
    for candidates, layer_name, show in (
        (False, labels["sites_layer"], True),
        (True, labels["candidates_layer"], False),
    ):
        chosen = (data.shown_status == "candidate") == candidates
        if not chosen.any():
            continue
        properties = []
        for position in np.flatnonzero(chosen):
            site = data.sites.iloc[position]
            status = str(data.shown_status[position])
            row = stats.loc[str(site["site_id"])] if str(site["site_id"]) in stats.index else None
            properties.append(
                {
                    "c": _SITE_STATUSES.index(status),
                    "t": f"{escape_text(site['name'])} ({labels[status]})",
                    "p": _site_popup(site, status, row, known, lang),
                }
            )
        collection = ml.feature_collection(points[chosen], properties)
        ml.ClassedGeoJson(
            collection, name=layer_name, colors=TIME_COLORS, icons=icons, show=show
        ).add_to(figure)


def _add_mobile(
    figure: folium.Map,
    routes: gpd.GeoDataFrame | None,
    stops: gpd.GeoDataFrame | None,
    lang: Language,
) -> None:
    """Mobile office tours (lines, one colour per tour) and stops (circles) with their days."""
    labels = LABELS[lang]
    shapes: list[Any] = []
    properties: list[dict[str, Any]] = []
    # a stop takes the colour of its tour (its ``route`` column naming a tour's ``name``)
    tour_names = [] if routes is None or "name" not in routes else routes["name"].astype(str)
    colour_of = {name: i % len(CATCHMENT_COLORS) for i, name in enumerate(tour_names)}
    for frame, kind in ((routes, "route"), (stops, "stop")):
        if frame is None or frame.empty:
            continue
        if frame.crs is None:
            msg = f"{kind}s: expected a GeoDataFrame with a CRS"
            raise InputError(msg)
        for position, row in enumerate(frame.to_crs(WGS84).itertuples(index=False)):
            name = escape_text(getattr(row, "name", "") or f"{labels[kind]} {position + 1}")
            days = getattr(row, "days", None)
            text = f"<b>{name}</b>" + (f"<br>{escape_text(days)}" if days else "")
            shapes.append(row.geometry)
            colour = (
                position % len(CATCHMENT_COLORS)
                if kind == "route"
                else colour_of.get(str(getattr(row, "route", "")), 0)
            )
            properties.append({"c": colour, "t": text, "r": 6})
    if shapes:
        ml.ClassedGeoJson(
            ml.feature_collection(np.asarray(shapes, dtype=object), properties),
            name=labels["mobile_layer"],
            colors=CATCHMENT_COLORS,
            path_style={"weight": 3, "opacity": 0.9, "fillOpacity": 0.9},
        ).add_to(figure)


def _site_popup(site: Any, status: str, row: Any, known: bool, lang: Language) -> str:
    labels = LABELS[lang]
    people = float(row["people"]) if row is not None else (0.0 if known else math.nan)
    mean = float(row["mean"]) if row is not None else math.nan
    worst = float(row["worst"]) if row is not None else math.nan
    cells = [
        (labels["status"], labels[status]),
        (labels["served"], format_number(people, lang)),
        (labels["mean_time"], format_minutes(mean, lang)),
        (labels["worst_time"], format_minutes(worst, lang)),
    ]
    body = "".join(
        f"<tr><th>{escape_text(key)}</th><td>{escape_text(value)}</td></tr>" for key, value in cells
    )
    return (
        f'<div class="siting-popup"><strong>{escape_text(site["name"])}</strong>'
        f"<table>{body}</table></div>"
    )


def _add_catchments(figure: folium.Map, data: MapData, lang: Language) -> None:
    labels = LABELS[lang]
    stats = _site_stats(data)
    names = _site_names(data)
    areas = _catchment_polygons(data)
    if areas.empty:
        return
    order = {site: position for position, site in enumerate(sorted(areas.index))}
    properties = [
        {
            "c": order[site] % len(CATCHMENT_COLORS),
            "t": f"<b>{escape_text(names.get(site, site))}</b><br>{labels['served']}: "
            f"{format_number(float(stats.loc[site, 'people']), lang)}",
        }
        for site in areas.index
    ]
    geometries = gpd.GeoSeries(areas.to_numpy(), crs=data.demand.crs).to_crs(WGS84)
    ml.ClassedGeoJson(
        ml.feature_collection(np.asarray(geometries.to_numpy(), dtype=object), properties),
        name=labels["catchment_layer"],
        colors=CATCHMENT_COLORS,
        path_style={"weight": 1.5, "fillOpacity": 0.25},
        show=False,
    ).add_to(figure)


def _catchment_polygons(data: MapData) -> pd.Series:
    """One polygon per serving site id, in the demand CRS.

    Grid cells are merged per site; points get Voronoi cells (cut to their extent plus a
    margin) merged per site, since a locality has no area of its own.
    """
    assigned = pd.Series(data.assigned_site, dtype=object)
    served = assigned.notna().to_numpy()
    if data.has_cells:
        shapes = np.asarray(data.demand["cell"].to_numpy(), dtype=object)
    else:
        shapes = _voronoi_cells(np.asarray(data.demand.geometry.to_numpy(), dtype=object))
    keys = assigned[served].astype(str).to_numpy()
    groups: dict[str, Any] = {}
    for site in np.unique(keys):
        parts = shapes[served][keys == site]
        groups[site] = _merge(parts)
    series = pd.Series(groups, dtype=object)
    tolerance = 50.0 if data.has_cells else 200.0
    return series.map(lambda shape: shapely.simplify(shape, tolerance))


def _merge(parts: npt.NDArray[Any]) -> Any:
    """Union of non-overlapping polygons: the fast coverage union, else the general one."""
    try:
        return shapely.coverage_union_all(parts)
    except shapely.errors.GEOSException:
        # Voronoi cells cut to a box, or grids with rounding in their corners, are not
        # always noded exactly as a coverage wants
        return shapely.union_all(parts)


def _voronoi_cells(points: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """The Voronoi cell of every point (duplicates share one), cut to the points' extent."""
    collection = shapely.MultiPoint(list(points))
    margin = 20_000.0
    extent = shapely.box(*shapely.bounds(collection)).buffer(margin, join_style="mitre")
    polygons = np.asarray(
        shapely.get_parts(shapely.voronoi_polygons(collection, extend_to=extent)), dtype=object
    )
    polygons = shapely.intersection(polygons, extent)
    tree = shapely.STRtree(polygons)
    point_index, polygon_index = tree.query(points, predicate="intersects")
    cells = np.full(len(points), shapely.Polygon(), dtype=object)
    first = np.unique(point_index, return_index=True)[1]
    cells[point_index[first]] = polygons[polygon_index[first]]
    return cells


def _add_boundaries(
    figure: folium.Map, level: Level, data: MapData, lang: Language, *, with_stats: bool
) -> None:
    """Region outlines; `with_stats` makes their insides show the region's access on hover.

    Used when cells are drawn as images (no hover of their own): the finest level drawn
    then tells, per region, its people, the share within 30 minutes and the mean time.
    """
    regions = load_boundaries(level)
    extent = _extent(data, regions.crs)
    shown = regions[regions.intersects(extent)].reset_index(drop=True)
    if shown.empty:
        return
    simplified = shown.geometry.simplify(_BOUNDARY_SIMPLIFY_M[level]).to_crs(WGS84)
    texts = [f"<b>{escape_text(name)}</b>" for name in shown["name"]]
    style = dict(_BOUNDARY_STYLE.get(level, _BOUNDARY_STYLE["lan"]))
    if with_stats:
        texts = [t + line for t, line in zip(texts, _region_lines(data, shown, lang), strict=True)]
        # a transparent fill catches the pointer inside the region, not only on its outline
        style.update(fill=True, fillOpacity=0.0)
    ml.ClassedGeoJson(
        ml.feature_collection(
            np.asarray(simplified.to_numpy(), dtype=object), [{"c": 0, "t": t} for t in texts]
        ),
        name=LABELS[lang].get(f"{level}_layer", level),
        colors=[str(style["color"])],
        path_style=style,
        tooltips=with_stats,
    ).add_to(figure)


def _region_lines(data: MapData, regions: gpd.GeoDataFrame, lang: Language) -> list[str]:
    """Per region: people, share within 30 minutes and mean minutes of the demand inside."""
    labels = LABELS[lang]
    points = data.demand.geometry.to_crs(regions.crs)
    region_of = np.full(len(points), -1, dtype=np.int64)
    point_index, region_index = regions.sindex.query(points, predicate="within")
    region_of[point_index] = region_index
    lines = []
    for position in range(len(regions)):
        inside = region_of == position
        row = _access_row(data.demand["population"].to_numpy()[inside], data.minutes[inside])
        share = row["share30"]
        share_text = f"{100 * share:.0f} %" if math.isfinite(share) else labels["unknown"]
        lines.append(
            f"<br>{labels['population']}: {format_number(row['people'], lang)}"
            f"<br>{labels['within_30']}: {share_text}"
            f"<br>{labels['mean_time']}: {format_minutes(row['mean'], lang)}"
        )
    return lines


def _access_row(population: npt.NDArray[Any], minutes: npt.NDArray[np.float64]) -> dict[str, float]:
    """People, share within 30 minutes and population-weighted mean minutes (of those reached)."""
    people = np.asarray(population, dtype=np.float64)
    total = float(people.sum())
    reached = np.isfinite(minutes)
    weight = float(people[reached].sum())
    return {
        "people": total,
        "share30": float(people[minutes <= 30].sum() / total) if total > 0 else math.nan,
        "mean": float((people[reached] * minutes[reached]).sum() / weight) if weight else math.nan,
    }


def _extent(data: MapData, crs: Any) -> Any:
    west, south, east, north = data.demand.geometry.to_crs(crs).total_bounds
    return shapely.box(west, south, east, north)


def _bounds(data: MapData) -> list[list[float]]:
    """The demand's extent: the region studied, not every office in the country."""
    bounds = data.demand.geometry.total_bounds
    if data.has_cells:
        cells = gpd.GeoSeries(data.demand["cell"], crs=data.demand.crs).total_bounds
        bounds = np.r_[np.minimum(bounds[:2], cells[:2]), np.maximum(bounds[2:], cells[2:])]
    # the extent's outline, not every cell, goes to WGS84 (600,000 polygons took seconds);
    # densified, because a straight edge in SWEREF99 TM is a curve in degrees
    west, south, east, north = bounds
    if east > west and north > south:
        box = shapely.box(west, south, east, north)
        extent = box.segmentize(box.length / 400)
    else:  # one point, or points on a line: no area to densify
        extent = shapely.MultiPoint([(west, south), (east, north)])
    outline = gpd.GeoSeries([extent], crs=data.demand.crs)
    west, south, east, north = outline.to_crs(WGS84).total_bounds
    return [[float(south), float(west)], [float(north), float(east)]]


def model_kind(model: str) -> str:
    """``"road"`` (``"road_walk"``, ``"road_bike"``), ``"straight"``, ``"transit"`` or
    ``"user"``: how a matrix's model is presented."""
    text = model.lower()
    if "public transport" in text or "gtfs" in text:
        return "transit"
    if "straight" in text or "fågel" in text:
        return "straight"
    if "road" in text:
        if "walking" in text or "cycling" in text:
            return "road_walk" if "walking" in text else "road_bike"
        return "road"
    return "user"


def _add_legend(
    figure: folium.Map,
    data: MapData,
    lang: Language,
    title: str | None,
    image_cells: int | None,
    notes: Sequence[str] = (),
    access: AccessClasses | None = None,
) -> None:
    labels = LABELS[lang]
    kind = model_kind(data.model)
    estimate = kind == "straight"
    model_text = labels[f"model_{kind}"]
    banner = f"<b>{escape_text(labels['model'])}:</b> {escape_text(model_text)}"
    if kind in ("user", "transit") or (kind == "straight" and "straight-line " in data.model):
        banner += f" ({escape_text(data.model)})"
    banner += "".join(f"<br>{escape_text(note)}" for note in notes)
    css = "siting-box siting-model" + (" siting-model-estimate" if estimate else "")
    ml.HtmlControl(
        ("⚠ " if estimate else "") + banner, position="bottomleft", css_class=css
    ).add_to(figure)
    ml.HtmlControl(
        legend_html(
            lang,
            title=title,
            estimate=estimate,
            cells_as_image=image_cells,
            cutoff_min=data.cutoff_min,
            access_breaks=None if access is None else access.breaks,
        ),
        position="bottomright",
        css_class="siting-box siting-legend",
    ).add_to(figure)


def time_class_labels(lang: Language, cutoff_min: float | None = None) -> list[str]:
    """Legend labels of the travel-time classes, then of "not reached" (within `cutoff_min`)."""
    labels = LABELS[lang]
    bounds = (0.0, *TIME_BREAKS_MIN)
    names = [f"{lo:.0f}–{hi:.0f} {labels['minutes']}" for lo, hi in itertools.pairwise(bounds)]
    names.append(f"> {TIME_BREAKS_MIN[-1]:.0f} {labels['minutes']}")
    cutoff = f" ({cutoff_min:g} {labels['minutes']})" if cutoff_min is not None else ""
    names.append(labels["not_reached"] + cutoff)
    return names


def population_class_labels(lang: Language) -> list[str]:
    """Legend labels of the population classes."""
    bounds = list(POPULATION_BREAKS)
    names = [
        f"{format_number(lo, lang)}–{format_number(hi - 1, lang)}"
        for lo, hi in itertools.pairwise(bounds)
    ]
    names.append(f"≥ {format_number(bounds[-1], lang)}")
    return names


def legend_html(
    lang: Language,
    *,
    title: str | None,
    estimate: bool,
    cells_as_image: int | None,
    cutoff_min: float | None = None,
    access_breaks: tuple[float, ...] | None = None,
) -> str:
    """The legend: travel-time classes, population classes, accessibility classes (with
    `access_breaks`) and office symbols."""
    labels = LABELS[lang]
    time_title = labels["time_layer"] + (f" ({labels['estimated']})" if estimate else "")
    parts = [f"<h2>{escape_text(title)}</h2>"] if title else []
    parts.append(f"<h2>{escape_text(time_title)}</h2>")
    parts += [
        _swatch(color, text)
        for color, text in zip(TIME_COLORS, time_class_labels(lang, cutoff_min), strict=True)
    ]
    parts.append(f"<h2>{escape_text(labels['population'])} ({labels['people_short']})</h2>")
    parts += [
        _swatch(color, text)
        for color, text in zip(POPULATION_COLORS, population_class_labels(lang), strict=True)
    ]
    if access_breaks is not None:
        parts.append(access_legend(access_breaks, lang))
    if cells_as_image:
        note = labels["cells_as_image"].format(n=format_number(cells_as_image, lang))
        parts.append(f"<div><small>{escape_text(note)}</small></div>")
    parts.append(f"<h2>{escape_text(labels['legend_offices'])}</h2>")
    for status, (shape, color) in SITE_SYMBOLS.items():
        parts.append(
            f'<div class="row">{ml.svg_symbol(shape, color, size_px=22)}'
            f"<span>{escape_text(labels[status])}</span></div>"
        )
    summary = f"<summary><b>{escape_text(labels['legend'])}</b></summary>"
    # <details> folds the legend away on a phone and opens with Enter from the keyboard
    return f"<details open>{summary}{''.join(parts)}</details>"


def _access_name(lang: Language) -> str:
    return LABELS[lang]["access_layer"].format(per=format_number(PER_PEOPLE, lang))


def _swatch(color: str, text: str) -> str:
    return (
        f'<div class="row"><span class="swatch" style="background:{color}"></span>'
        f"<span>{escape_text(text)}</span></div>"
    )
