"""siting: where citizens get personal public service, from road travel times to maps."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("siting")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

# the public API (submodules import __version__ from here, so it is set first)
from .config import Scenario as Scenario
from .config import load_scenario as load_scenario
from .errors import InfeasibleError as InfeasibleError
from .errors import InputError as InputError
from .errors import SitingError as SitingError
from .errors import SitingWarning as SitingWarning
from .maps import nearest_office as nearest_office
from .maps import write_map as write_map
from .mobile import MobilePlan as MobilePlan
from .mobile import plan_mobile as plan_mobile
from .network import Snapped as Snapped
from .network import load_network as load_network
from .network import network_summary as network_summary
from .network import save_network as save_network
from .network import snap_points as snap_points
from .odmatrix import ODMatrix as ODMatrix
from .odmatrix import ODSummary as ODSummary
from .odmatrix import nearest_sites as nearest_sites
from .odmatrix import prepare_network as prepare_network
from .odmatrix import travel_times as travel_times
from .optimize import solve as solve
from .pipeline import RunResult as RunResult
from .pipeline import run_scenario as run_scenario
from .population import aggregate_population as aggregate_population
from .population import load_population as load_population
from .regions import clip_to_region as clip_to_region
from .regions import find_region as find_region
from .sites import candidates_from_clusters as candidates_from_clusters
from .sites import candidates_from_geonames as candidates_from_geonames
from .sites import candidates_from_osm as candidates_from_osm
from .sites import combine_sites as combine_sites
from .sites import load_sites as load_sites
from .solution import Solution as Solution
from .speeds import SpeedModel as SpeedModel
from .straightline import StraightLineModel as StraightLineModel
