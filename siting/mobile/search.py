"""Search covering tours: which stops a mobile office visits on which day, in which order.

The problem (a covering tour problem with several vehicles and days): choose closed tours from
depots, each within the day length (driving plus time at each stop), so that the weight of
demand within reach of at least one visited stop is largest; among equal weights, the driving
time is least. Prizes overlap: a person near two visited stops counts once.

PyVRP solves prize-collecting routing with additive prizes, so it is run in rounds whose
prizes follow the previous answer (`siting.mobile.tours.shared_people`: an unvisited stop is
worth the people nobody reaches yet, visited stops share the people they reach, so the prizes
of an answer add up to its true people). A local search on the exact objective
(`siting.mobile.moves`) and a PyVRP pass over the chosen stops for the least driving finish it.

Notes
-----
The covering tour problem is Gendreau, Laporte and Semet (1997, Operations Research 45(4)),
for one vehicle that must cover every point; Hachicha, Hodgson, Laporte and Semet (2000,
Computers & Operations Research 27(1)) extend it to several vehicles with a length limit per
tour, which is our day length. Ours maximises the people covered instead of covering all:
the maximal covering tour problem of Current and Schilling (1994, European Journal of
Operational Research 73(1)), here with several tours and days. Gendreau et al.'s exact
branch and cut works on instances of about a hundred vertices, fewer than a county's
stops times days, so we search: PyVRP's hybrid genetic search (Wouda, Lan and Kool 2024,
INFORMS Journal on Computing) is a strong prize-collecting router, and re-pricing the prizes
between rounds turns its additive objective into ours step by step; the local search then
corrects what additive prizes cannot see (two stops reaching the same village).
"""

from __future__ import annotations

import itertools
import logging
import time
from dataclasses import dataclass

from siting.mobile import pyvrp_rounds
from siting.mobile.moves import alternatives, fill_greedily, improve_tours
from siting.mobile.tours import (
    Tour,
    TourProblem,
    better,
    empty_tours,
    score_tours,
    shared_people,
)

logger = logging.getLogger(__name__)

PRIZE_ROUNDS = 4
ROUND_SHARE = 0.5  # of the time limit for the prize rounds
IMPROVE_SHARE = 0.8  # the local search ends by then; the rest shortens the driving
REROUTE_SHARE = 0.85  # alternative stop sets are re-planned until then
ALTERNATIVE_SECONDS = 1.0  # the most PyVRP may spend re-planning one alternative stop set
MAX_ALTERNATIVES = 20


@dataclass(frozen=True)
class SearchResult:
    """Tours found, with how the search went."""

    tours: tuple[Tour, ...]
    people: float
    driving_minutes: float
    status: str
    rounds: int
    runtime_s: float


def search_tours(
    problem: TourProblem,
    *,
    seed: int,
    time_limit_s: float,
    max_iterations: int | None,
) -> SearchResult:
    """Find tours that reach the most people, then drive least (see the module docstring)."""
    started = time.perf_counter()
    best, rounds, failed = _prize_rounds(
        problem, seed=seed, seconds=time_limit_s * ROUND_SHARE, max_iterations=max_iterations
    )
    best, converged = improve_tours(problem, best, deadline=started + IMPROVE_SHARE * time_limit_s)
    _log_stage("Local search", problem, best, started)
    polished = _shorten(
        problem, best, seed=seed, started=started, limit_s=time_limit_s, iterations=max_iterations
    )
    if polished != best:
        # a shorter plan may leave room for one more stop
        best, converged = improve_tours(problem, polished, deadline=started + time_limit_s)
    people, driving = score_tours(problem, best)
    status = "local optimum" if converged else "time limit"
    status += f" ({failed} PyVRP round(s) found no feasible answer)" * bool(failed)
    return SearchResult(tuple(best), people, driving, status, rounds, time.perf_counter() - started)


def _shorten(
    problem: TourProblem,
    tours: list[Tour],
    *,
    seed: int,
    started: float,
    limit_s: float,
    iterations: int | None,
) -> list[Tour]:
    """Least driving: PyVRP re-plans the chosen stops, then other stop sets as good."""
    remaining_s = max(started + limit_s - time.perf_counter(), 0.05 * limit_s)
    tours = pyvrp_rounds.polish(
        problem, tours, seed=seed, seconds=remaining_s / 2, max_iterations=iterations
    )
    tours = _reroute_alternatives(
        problem,
        tours,
        seed=seed,
        deadline=started + REROUTE_SHARE * limit_s,
        max_iterations=iterations,
    )
    _log_stage("Re-planned", problem, tours, started)
    return tours


def _prize_rounds(
    problem: TourProblem, *, seed: int, seconds: float, max_iterations: int | None
) -> tuple[list[Tour], int, int]:
    """PyVRP rounds, each with the prizes of the best answer so far; the best, rounds, fails."""
    started = time.perf_counter()
    best = fill_greedily(problem, empty_tours(problem))
    _log_stage("Greedy start", problem, best, started)
    rounds = failed = 0
    while rounds < PRIZE_ROUNDS and time.perf_counter() - started < seconds:
        rounds += 1
        found = pyvrp_rounds.solve_prize_round(
            problem,
            shared_people(problem, best),
            best,
            seed=seed + rounds,
            seconds=seconds / PRIZE_ROUNDS,
            max_iterations=max_iterations,
        )
        if found is None:
            failed += 1
            continue
        _log_stage(f"Prize round {rounds}", problem, found, started)
        if not better(problem, found, best):
            break
        best = found
    return best, rounds, failed


def _reroute_alternatives(
    problem: TourProblem,
    tours: list[Tour],
    *,
    seed: int,
    deadline: float,
    max_iterations: int | None,
) -> list[Tour]:
    """Re-plan the tours of other stop sets with as many people; keep one that drives less.

    The moves judge a stop set by its tours as they stand; a set that drives more as built
    can drive less once PyVRP re-plans which day visits what (ties in people, broken by the
    driving time).
    """
    best = tours
    for alternative in itertools.islice(alternatives(problem, tours), MAX_ALTERNATIVES):
        seconds = min(deadline - time.perf_counter(), ALTERNATIVE_SECONDS)
        if seconds <= 0:
            break
        replanned = pyvrp_rounds.polish(
            problem, alternative, seed=seed, seconds=seconds, max_iterations=max_iterations
        )
        if better(problem, replanned, best):
            best = replanned
    return best


def _log_stage(stage: str, problem: TourProblem, tours: list[Tour], started: float) -> None:
    people, driving = score_tours(problem, tours)
    elapsed = time.perf_counter() - started
    logger.info("%s: %.0f people, %.1f min driving, %.1f s", stage, people, driving, elapsed)
