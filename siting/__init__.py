"""siting: where citizens get personal public service, from road travel times to maps.

The public names below are resolved from their layer on first use (PEP 562), so
`import siting` loads none of numpy, geopandas, HiGHS or folium until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from siting._core.version import __version__

if TYPE_CHECKING:
    from siting._core.errors import DownloadError as DownloadError
    from siting._core.errors import InfeasibleError as InfeasibleError
    from siting._core.errors import InputError as InputError
    from siting._core.errors import OutputError as OutputError
    from siting._core.errors import SitingError as SitingError
    from siting._core.errors import SitingWarning as SitingWarning
    from siting.download.osm import fetch_osm_extract as fetch_osm_extract
    from siting.download.osm import fetch_place as fetch_place
    from siting.inputs.population import aggregate_population as aggregate_population
    from siting.inputs.population import load_population as load_population
    from siting.inputs.regions import clip_to_region as clip_to_region
    from siting.inputs.regions import find_region as find_region
    from siting.inputs.scb_grid import fetch_population_grid as fetch_population_grid
    from siting.inputs.sites import candidates_from_clusters as candidates_from_clusters
    from siting.inputs.sites import candidates_from_geonames as candidates_from_geonames
    from siting.inputs.sites import candidates_from_osm as candidates_from_osm
    from siting.inputs.sites import combine_sites as combine_sites
    from siting.inputs.sites import load_sites as load_sites
    from siting.locate.accessibility import accessibility_table as accessibility_table
    from siting.locate.accessibility import floating_catchment_access as floating_catchment_access
    from siting.locate.accessibility import gravity_access as gravity_access
    from siting.locate.alternatives import solve_alternatives as solve_alternatives
    from siting.locate.closure import closure_impact as closure_impact
    from siting.locate.closure import solve_closures as solve_closures
    from siting.locate.decay import Decay as Decay
    from siting.locate.equity import EquityMeasures as EquityMeasures
    from siting.locate.equity import equity_by_group as equity_by_group
    from siting.locate.equity import equity_measures as equity_measures
    from siting.locate.frontier import equity_frontier as equity_frontier
    from siting.locate.groups import GroupShare as GroupShare
    from siting.locate.solution import Solution as Solution
    from siting.locate.solve import solve as solve
    from siting.locate.tradeoff import tradeoff_curve as tradeoff_curve
    from siting.mobile.options import FixedOffices as FixedOffices
    from siting.mobile.options import MobileOptions as MobileOptions
    from siting.mobile.plan import MobilePlan as MobilePlan
    from siting.mobile.planner import plan_mobile as plan_mobile
    from siting.report.compare_pages import compare_scenarios as compare_scenarios
    from siting.report.maps import MapOptions as MapOptions
    from siting.report.maps import nearest_office as nearest_office
    from siting.report.maps import write_map as write_map
    from siting.report.publish import publish_site as publish_site
    from siting.roads.network import RoadArrays as RoadArrays
    from siting.roads.network import Snapped as Snapped
    from siting.roads.network import load_network as load_network
    from siting.roads.network import load_road_arrays as load_road_arrays
    from siting.roads.network import network_summary as network_summary
    from siting.roads.network import save_network as save_network
    from siting.roads.network import snap_points as snap_points
    from siting.roads.speeds import SpeedModel as SpeedModel
    from siting.scenario.compare_runs import compare_runs as compare_runs
    from siting.scenario.config import Scenario as Scenario
    from siting.scenario.config import load_scenario as load_scenario
    from siting.scenario.pipeline import RunResult as RunResult
    from siting.scenario.pipeline import run_scenario as run_scenario
    from siting.travel.odmatrix import ODMatrix as ODMatrix
    from siting.travel.odmatrix import ODSummary as ODSummary
    from siting.travel.odmatrix import RoadNetwork as RoadNetwork
    from siting.travel.odmatrix import nearest_sites as nearest_sites
    from siting.travel.odmatrix import prepare_network as prepare_network
    from siting.travel.odmatrix import travel_times as travel_times
    from siting.travel.options import ComputeOptions as ComputeOptions
    from siting.travel.options import SnapRule as SnapRule
    from siting.travel.prepared import load_road_network as load_road_network
    from siting.travel.prepared import save_road_network as save_road_network
    from siting.travel.straightline import StraightLineModel as StraightLineModel

# public name -> the module that defines it
_HOMES: dict[str, str] = {
    "DownloadError": "siting._core.errors",
    "InfeasibleError": "siting._core.errors",
    "InputError": "siting._core.errors",
    "OutputError": "siting._core.errors",
    "SitingError": "siting._core.errors",
    "SitingWarning": "siting._core.errors",
    "fetch_osm_extract": "siting.download.osm",
    "fetch_place": "siting.download.osm",
    "aggregate_population": "siting.inputs.population",
    "load_population": "siting.inputs.population",
    "clip_to_region": "siting.inputs.regions",
    "find_region": "siting.inputs.regions",
    "fetch_population_grid": "siting.inputs.scb_grid",
    "candidates_from_clusters": "siting.inputs.sites",
    "candidates_from_geonames": "siting.inputs.sites",
    "candidates_from_osm": "siting.inputs.sites",
    "combine_sites": "siting.inputs.sites",
    "load_sites": "siting.inputs.sites",
    "accessibility_table": "siting.locate.accessibility",
    "floating_catchment_access": "siting.locate.accessibility",
    "gravity_access": "siting.locate.accessibility",
    "solve_alternatives": "siting.locate.alternatives",
    "closure_impact": "siting.locate.closure",
    "solve_closures": "siting.locate.closure",
    "Decay": "siting.locate.decay",
    "EquityMeasures": "siting.locate.equity",
    "equity_by_group": "siting.locate.equity",
    "equity_measures": "siting.locate.equity",
    "equity_frontier": "siting.locate.frontier",
    "GroupShare": "siting.locate.groups",
    "Solution": "siting.locate.solution",
    "solve": "siting.locate.solve",
    "tradeoff_curve": "siting.locate.tradeoff",
    "FixedOffices": "siting.mobile.options",
    "MobileOptions": "siting.mobile.options",
    "MobilePlan": "siting.mobile.plan",
    "plan_mobile": "siting.mobile.planner",
    "compare_scenarios": "siting.report.compare_pages",
    "MapOptions": "siting.report.maps",
    "nearest_office": "siting.report.maps",
    "write_map": "siting.report.maps",
    "publish_site": "siting.report.publish",
    "Snapped": "siting.roads.network",
    "RoadArrays": "siting.roads.network",
    "load_network": "siting.roads.network",
    "load_road_arrays": "siting.roads.network",
    "network_summary": "siting.roads.network",
    "save_network": "siting.roads.network",
    "snap_points": "siting.roads.network",
    "SpeedModel": "siting.roads.speeds",
    "compare_runs": "siting.scenario.compare_runs",
    "Scenario": "siting.scenario.config",
    "load_scenario": "siting.scenario.config",
    "RunResult": "siting.scenario.pipeline",
    "run_scenario": "siting.scenario.pipeline",
    "ODMatrix": "siting.travel.odmatrix",
    "ComputeOptions": "siting.travel.options",
    "SnapRule": "siting.travel.options",
    "ODSummary": "siting.travel.odmatrix",
    "RoadNetwork": "siting.travel.odmatrix",
    "nearest_sites": "siting.travel.odmatrix",
    "prepare_network": "siting.travel.odmatrix",
    "travel_times": "siting.travel.odmatrix",
    "load_road_network": "siting.travel.prepared",
    "save_road_network": "siting.travel.prepared",
    "StraightLineModel": "siting.travel.straightline",
}

__all__ = ["__version__", *sorted(_HOMES)]


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used."""
    home = _HOMES.get(name)
    if home is None:
        msg = f"module 'siting' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
