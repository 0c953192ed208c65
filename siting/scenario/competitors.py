"""The other offices of a market-share problem: from the sites table or a file, timed by the
run's travel model, and each office's attractiveness."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

from siting._core.errors import InputError
from siting.inputs.sites import load_sites
from siting.inputs.tables import numeric_column
from siting.scenario.parameters import MarketShareParameters, TargetMarketShareParameters
from siting.travel.odmatrix import ODMatrix

#: times from every demand point to given sites, by the run's travel model
TimesTo = Callable[[gpd.GeoDataFrame], ODMatrix]
HuffParameters = MarketShareParameters | TargetMarketShareParameters


@dataclass(frozen=True)
class Market:
    """What the Huff solvers need beside the sites: the matrix to every office (ours, then
    those of `competitors_file`), the other offices' ids and each column's attractiveness."""

    od: ODMatrix
    competitor_ids: tuple[str, ...]
    attractiveness: npt.NDArray[np.float64] | None


def market_inputs(
    parameters: HuffParameters, od: ODMatrix, sites: gpd.GeoDataFrame, times_to: TimesTo | None
) -> Market:
    """The matrix, other offices and attractiveness of one market-share problem.

    Raises
    ------
    InputError
        A file whose site ids are also in the sites table, a missing attractiveness column,
        or an attractiveness that is missing, not a number or not above 0 (naming the site).
    """
    others = list(parameters.competitors)
    frames = [sites]
    if parameters.competitors_file is not None:
        extra = _other_offices(parameters.competitors_file, sites)
        if times_to is None:
            raise InputError("competitors_file: this run has no travel model to time them with")
        od = _joined(od, times_to(extra))
        others += extra["site_id"].astype(str).tolist()
        frames.append(extra)
    appeal: npt.NDArray[np.float64] | None = None
    if parameters.attractiveness is not None:
        sources = ["the sites", str(parameters.competitors_file)]
        by_site = pd.concat(
            [_appeal(frame, parameters.attractiveness, source)
             for frame, source in zip(frames, sources, strict=False)]
        )  # fmt: skip
        appeal = np.asarray(by_site.reindex(od.destination_ids.astype(str)), dtype=np.float64)
    return Market(od, tuple(others), appeal)


def check_market_inputs(parameters: HuffParameters, sites: pd.DataFrame) -> None:
    """The other offices' file and the attractiveness column, checked before the OD matrix
    (the same checks `market_inputs` makes when the problem's turn comes)."""
    frames: list[tuple[str, pd.DataFrame]] = [("the sites", sites)]
    if parameters.competitors_file is not None:
        extra = _other_offices(parameters.competitors_file, sites)
        frames.append((parameters.competitors_file, extra))
    if parameters.attractiveness is not None:
        for source, frame in frames:
            _appeal(frame, parameters.attractiveness, source)


def _other_offices(path: str, sites: pd.DataFrame) -> gpd.GeoDataFrame:
    """The file's offices, whatever their status column says (they are not ours); not
    clipped to the region: an office over the border draws people too."""
    extra = load_sites(path, default_status="existing")
    known = set(sites["site_id"].astype(str))
    clash = [site for site in extra["site_id"].astype(str) if site in known]
    if clash:
        msg = f"competitors_file: {path}: site id {clash[0]!r} is also in the sites table"
        raise InputError(msg)
    return extra


def _joined(od: ODMatrix, extra: ODMatrix) -> ODMatrix:
    """Our matrix with the other offices' columns after ours (both from the run's demand)."""
    minutes = sp.hstack([od.minutes, extra.minutes], format="csr")
    ids = np.concatenate([od.destination_ids.astype(object), extra.destination_ids.astype(object)])
    return ODMatrix(minutes, od.origin_ids, ids, od.metadata)


def _appeal(frame: pd.DataFrame, column: str, source: str) -> pd.Series[float]:
    """A site column of attractiveness: numbers above 0 (an office that pulls nobody is
    no office)."""
    if column not in frame.columns:  # checks.require_column's message; checks imports us
        shown = [str(c) for c in frame.columns if c != "geometry"]
        msg = (
            f"attractiveness: {source} has no column {column!r}; its columns are {', '.join(shown)}"
        )
        raise InputError(msg)
    table = frame.set_index("site_id")
    values = numeric_column(table, column, "frame", source, minimum=0.0)
    if (values <= 0).any():
        site = table.index[int(np.argmax(values <= 0))]
        msg = f"attractiveness: {source}: site {site!r} has {column} 0; give a number above 0"
        raise InputError(msg)
    return pd.Series(values, index=table.index.astype(str))
