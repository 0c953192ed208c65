"""Near-optimal alternatives: the best distinct site sets within a tolerance of the optimum."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

from siting._core.errors import InfeasibleError, InputError
from siting.locate.solution import Solution
from siting.locate.solve import solve
from siting.travel.odmatrix import ODMatrix

logger = logging.getLogger(__name__)
_MAXIMISED = {"mclp"}


def solve_alternatives(
    od: ODMatrix,
    *,
    problem: str,
    n_alternatives: int,
    within: float = 0.05,
    exclude: Iterable[Iterable[Any]] = (),
    **parameters: Any,
) -> list[Solution]:
    """Return the optimum and up to `n_alternatives` - 1 next-best distinct site sets.

    Planners weigh what the model does not know (premises, staff, politics) among answers
    that are nearly as good. Each answer is optimal given that the earlier ones are
    excluded, so the list is in order of objective, each within `within` of the first.

    Parameters
    ----------
    od
        Travel times.
    problem
        As in `siting.solve`.
    n_alternatives
        Most answers to return (the optimum included).
    within
        Relative tolerance: keep answers whose objective is at most ``(1 + within)`` times
        the optimum (``(1 - within)`` times for the maximised MCLP).
    exclude
        Site sets never to return.
    **parameters
        The problem's parameters, as in `siting.solve`.

    Returns
    -------
    list of Solution
        Best first; fewer than `n_alternatives` when no more site sets are within tolerance
        (or none are left).

    Notes
    -----
    After each answer with open set :math:`S` the no-good cut
    :math:`\\sum_{j \\in S} y_j - \\sum_{j \\notin S} y_j \\le |S| - 1` is added, which
    removes exactly that set and nothing else, and the problem is solved again.
    """
    if isinstance(n_alternatives, bool) or not isinstance(n_alternatives, int):
        msg = f"n_alternatives must be a positive integer, got {n_alternatives!r}"
        raise InputError(msg)
    if n_alternatives < 1:
        msg = f"n_alternatives must be a positive integer, got {n_alternatives!r}"
        raise InputError(msg)
    if not (isinstance(within, int | float) and within >= 0):
        msg = f"within must be a number >= 0, got {within!r}"
        raise InputError(msg)
    excluded = [list(sites) for sites in exclude]
    answers: list[Solution] = []
    while len(answers) < n_alternatives:
        try:
            answer = solve(od, problem=problem, exclude=excluded, **parameters)
        except InfeasibleError:
            if not answers:
                raise
            break  # every site set has been listed
        if answers and not _close_enough(answers[0].objective, answer.objective, problem, within):
            break
        answers.append(answer)
        excluded.append(answer.site_ids.tolist())
    logger.info("%s: %d alternatives within %g", problem, len(answers), within)
    return answers


def _close_enough(best: float, objective: float, problem: str, within: float) -> bool:
    tolerance = 1e-9 * max(1.0, abs(best))
    if problem in _MAXIMISED:
        return objective >= best * (1 - within) - tolerance
    return objective <= best * (1 + within) + tolerance if math.isfinite(best) else False
