"""One entry point, `solve`, for every location problem siting answers."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from siting._core.errors import InputError
from siting.locate.attendance import solve_attendance
from siting.locate.coverage import solve_lscp, solve_mclp
from siting.locate.group_equity import solve_median, solve_minmax_group
from siting.locate.instance import SiteRules
from siting.locate.market_share import solve_market_share, solve_target_market_share
from siting.locate.median_center import solve_p_center
from siting.locate.mip import MipOptions
from siting.locate.solution import Solution
from siting.travel.odmatrix import ODMatrix

PROBLEMS: dict[str, Callable[..., Solution]] = {
    "lscp": solve_lscp,
    "mclp": solve_mclp,
    "p-median": solve_median,
    "p-center": solve_p_center,
    "attendance": solve_attendance,
    "minmax-group": solve_minmax_group,
    "market-share": solve_market_share,
    "target-market-share": solve_target_market_share,
}


def solve(
    od: ODMatrix,
    *,
    problem: str,
    mip_gap: float = 0.0,
    time_limit_s: float | None = None,
    seed: int = 0,
    **parameters: Any,
) -> Solution:
    """Solve a location problem exactly (HiGHS; for the p-median a Lagrangian pass first).

    Parameters
    ----------
    od
        Travel times, demand points (rows) x candidate sites (columns).
    problem
        ``"lscp"``, ``"mclp"``, ``"p-median"``, ``"p-center"``, ``"attendance"``,
        ``"minmax-group"``, ``"market-share"`` or ``"target-market-share"`` (Huff, against
        `competitor_sites`; `siting.locate.market_share`).
    mip_gap
        Relative gap at which to stop (0: prove optimality).
    time_limit_s
        Wall-clock limit; the answer then carries status ``"time limit"`` and its gap.
    seed
        HiGHS random seed (one thread: same input, same answer).
    **parameters
        The problem's own options (`max_minutes`, `n_sites`, `backup_weight` for MCLP,
        `capacities` and `single_sourcing` for MCLP, p-median and p-center (see
        `siting.locate.capacitated`), `min_group_share` and `groups` for p-median, `decay`
        for attendance, `groups` for minmax-group; see `solve_lscp`, `solve_mclp`, `solve_p_median`,
        `siting.locate.group_equity.solve_median`, `solve_p_center`,
        `siting.locate.attendance.solve_attendance`,
        `siting.locate.group_equity.solve_minmax_group`)
        and the shared ones of `siting.locate.instance.SiteRules`: `weights`,
        `required_sites`, `forbidden_sites`, `site_costs`, `budget`, `exclude`.

    Returns
    -------
    Solution
        Open sites, assignment, objective, bound, gap, status and timings.

    Raises
    ------
    InputError
        Unknown problem or option, or bad values.
    InfeasibleError
        If the constraints cannot be met; the message says which and by how much.

    Examples
    --------
    >>> import numpy as np
    >>> from siting import ODMatrix, solve
    >>> od = ODMatrix.from_dense(np.array([[5.0, 40.0], [35.0, 10.0], [20.0, 20.0]]))
    >>> solution = solve(od, problem="p-median", n_sites=1, weights=[10, 1, 1])
    >>> solution.site_ids.tolist(), solution.objective
    ([0], 105.0)
    """
    try:
        solver = PROBLEMS[problem]
    except (KeyError, TypeError):
        msg = f"problem must be one of {', '.join(PROBLEMS)}, got {problem!r}"
        raise InputError(msg) from None
    if not (mip_gap >= 0):
        msg = f"mip_gap must be >= 0, got {mip_gap!r}"
        raise InputError(msg)
    _check_parameters(problem, solver, parameters)
    options = MipOptions(mip_gap=mip_gap, time_limit_s=time_limit_s, seed=seed)
    return solver(od, options=options, **parameters)


def _check_parameters(
    problem: str, solver: Callable[..., Solution], parameters: dict[str, Any]
) -> None:
    """Name an option the problem does not take, or a required one left out."""
    own = set(inspect.signature(solver).parameters) - {"od", "options", "rules"}
    known = own | SiteRules.__optional_keys__
    unknown = sorted(set(parameters) - known)
    if unknown:
        msg = (
            f"problem {problem!r}: unexpected keyword argument {unknown[0]!r} "
            f"(it takes {', '.join(sorted(known))})"
        )
        raise InputError(msg)
    signature = inspect.signature(solver).parameters.values()
    required = [p.name for p in signature if p.default is p.empty and p.name in own]
    missing = [name for name in required if name not in parameters]
    if missing:
        names = ", ".join(repr(name) for name in missing)
        msg = f"problem {problem!r}: missing required option {names}"
        raise InputError(msg)
