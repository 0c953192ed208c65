"""Local search for mobile office tours on the exact covering objective.

PyVRP's prizes are additive; people near two stops count once. These moves score the true
objective (people reached, then driving) and are written here for that reason: add, drop,
swap and eject stops, with insertion that may move one stop to another tour to make room.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp

from siting.mobile.tours import (
    EPS_MIN,
    Tour,
    TourProblem,
    better,
    cover_counts,
    marginal_people,
    people_added,
    score_tours,
    selected,
)

#: candidates (by people added) for which insertion may move another stop to make room; the
#: move costs (stops x tours) insertions, so only the most promising candidates try it
RELOCATE_CANDIDATES = 8


def improve_tours(
    problem: TourProblem, tours: list[Tour], *, deadline: float
) -> tuple[list[Tour], bool]:
    """Apply improving moves until none improves or `deadline` (``time.perf_counter()``).

    Each move raises the people reached, or keeps them and shortens the driving. Returns the
    tours and whether the search ended at a local optimum (False: the deadline stopped it).
    """
    current = list(tours)
    moves = (_drop_redundant, add_best_stop, _swap_best)
    while time.perf_counter() < deadline:
        moved = any(move(problem, current) for move in moves)
        if not (moved or _eject_best(problem, current, deadline=deadline)):
            return current, time.perf_counter() < deadline
    return current, False


def cheapest_insertion(problem: TourProblem, tour: Tour, stop: int) -> tuple[float, Tour] | None:
    """The insertion of `stop` into `tour` that adds least driving and fits the day."""
    depot, stops = tour
    path = problem.path(tour)
    location = problem.n_depots + stop
    travel = problem.travel_minutes
    added = travel[path[:-1], location] + travel[location, path[1:]] - travel[path[:-1], path[1:]]
    base = float(travel[path[:-1], path[1:]].sum()) + problem.stop_minutes * (len(stops) + 1)
    fitting = np.flatnonzero(base + added <= problem.day_minutes + EPS_MIN)
    if fitting.size == 0:
        return None
    position = int(fitting[np.argmin(added[fitting])])
    return float(added[position]), (depot, (*stops[:position], stop, *stops[position:]))


def _inserted(
    problem: TourProblem, tours: list[Tour], stop: int, *, relocate: bool
) -> list[Tour] | None:
    """Tours with `stop` inserted where it adds least driving, if it fits anywhere.

    With `relocate`, when it fits in no tour as they are, one stop may move to another tour
    to make room (two days swapping a village frees the time a third needs).
    """
    options = [
        (found[0], index, found[1])
        for index, tour in enumerate(tours)
        if (found := cheapest_insertion(problem, tour, stop)) is not None
    ]
    if options:
        _, index, tour = min(options, key=lambda option: option[:2])
        return [tour if i == index else other for i, other in enumerate(tours)]
    return _inserted_after_move(problem, tours, stop) if relocate else None


def _inserted_after_move(problem: TourProblem, tours: list[Tour], stop: int) -> list[Tour] | None:
    best: tuple[float, list[Tour]] | None = None
    for target, (depot, stops) in enumerate(tours):
        for moved in stops:
            room = (depot, tuple(s for s in stops if s != moved))
            here = cheapest_insertion(problem, room, stop)
            if here is None:
                continue
            freed = problem.driving_minutes(tours[target]) - problem.driving_minutes(room)
            for other, tour in enumerate(tours):
                there = None if other == target else cheapest_insertion(problem, tour, moved)
                if there is None:
                    continue
                added = here[0] + there[0] - freed
                if best is None or added < best[0] - EPS_MIN:
                    trial = list(tours)
                    trial[target], trial[other] = here[1], there[1]
                    best = (added, trial)
    return None if best is None else best[1]


def add_best_stop(problem: TourProblem, tours: list[Tour], banned: tuple[int, ...] = ()) -> bool:
    """Insert the unvisited stop that adds most people wherever it fits (least driving)."""
    gain = marginal_people(problem, tours)
    gain[[*selected(tours).tolist(), *banned]] = 0.0
    candidates = np.flatnonzero(gain > 0)
    order = candidates[np.argsort(-gain[candidates], kind="stable")]
    for rank, stop in enumerate(order.tolist()):
        inserted = _inserted(problem, tours, stop, relocate=rank < RELOCATE_CANDIDATES)
        if inserted is not None:
            tours[:] = inserted
            return True
    return False


def fill_greedily(
    problem: TourProblem, tours: list[Tour], banned: tuple[int, ...] = ()
) -> list[Tour]:
    """A copy of `tours` with the best stop added while one fits, never a `banned` one."""
    filled = list(tours)
    while add_best_stop(problem, filled, banned=banned):
        pass
    return filled


def _without(tours: list[Tour], stops: tuple[int, ...]) -> list[Tour]:
    """The tours with `stops` taken out."""
    return [(depot, tuple(s for s in kept if s not in stops)) for depot, kept in tours]


def _drop_redundant(problem: TourProblem, tours: list[Tour]) -> bool:
    """Drop one visited stop whose people other stops reach too, unless driving grows.

    A drop that saves no driving still frees the stop's time, and a later reordering may
    then shorten the tour.
    """
    unique = marginal_people(problem, tours)
    for index, (depot, stops) in enumerate(tours):
        for position, stop in enumerate(stops):
            if unique[stop] > 0:
                continue
            shorter = (depot, stops[:position] + stops[position + 1 :])
            if problem.driving_minutes(shorter) <= problem.driving_minutes(tours[index]) + EPS_MIN:
                tours[index] = shorter
                return True
    return False


def _swap_best(problem: TourProblem, tours: list[Tour]) -> bool:
    """Replace a visited stop by an unvisited one: more people, or as many and less driving.

    The newcomer goes where it fits best once the old stop has left its tour (any tour).
    """
    chosen = selected(tours)
    if chosen.size == 0:
        return False
    counts = cover_counts(problem, chosen)
    gain = people_added(problem, counts)
    alone = problem.row_weight * (counts == 1)
    # people the visited stop alone reaches that the newcomer reaches too
    shared = (problem.by_stop @ sp.diags(alone) @ problem.by_stop[chosen].T).toarray()
    loss = problem.by_stop[chosen] @ alone
    net = gain[:, None] + shared - loss[None, :]
    net[chosen, :] = -np.inf
    driving = sum(map(problem.driving_minutes, tours))
    for rank, flat in enumerate(np.argsort(-net, axis=None, kind="stable")):
        newcomer, column = divmod(int(flat), chosen.size)
        if net[newcomer, column] < -1e-9:
            return False
        relocate = rank < RELOCATE_CANDIDATES
        swapped = _replaced(problem, tours, int(chosen[column]), newcomer, relocate=relocate)
        if swapped is None:
            continue
        saved = driving - sum(map(problem.driving_minutes, swapped))
        if net[newcomer, column] > 1e-9 or saved > EPS_MIN:
            tours[:] = swapped
            return True
    return False


def _replaced(
    problem: TourProblem, tours: list[Tour], old: int, new: int, *, relocate: bool
) -> list[Tour] | None:
    """Tours with `old` removed and `new` inserted where it adds least driving, if it fits."""
    return _inserted(problem, _without(tours, (old,)), new, relocate=relocate)


def _eject_best(problem: TourProblem, tours: list[Tour], *, deadline: float) -> bool:
    """Take one or two stops out and refill the tours greedily without them, if better.

    Escapes answers where stops reaching many block others that together reach more, or
    where two short stops hold the time one better stop needs. Single stops come first,
    then pairs of one tour, then pairs of two tours.
    """
    unique = marginal_people(problem, tours)
    singles = sorted(selected(tours).tolist(), key=lambda s: (unique[s], s))
    for ejected in _ejections(tours, singles):
        if time.perf_counter() > deadline:
            return False
        trial = fill_greedily(problem, _without(tours, ejected), banned=ejected)
        if better(problem, trial, tours):
            tours[:] = trial
            return True
    return False


def _ejections(tours: list[Tour], singles: list[int]) -> list[tuple[int, ...]]:
    """Stops to take out: each of `singles`, then pairs of one tour, then pairs of two."""
    same_tour = [pair for _, stops in tours for pair in itertools.combinations(stops, 2)]
    pairs = {frozenset(pair) for pair in same_tour}
    two_tours = [p for p in itertools.combinations(singles, 2) if frozenset(p) not in pairs]
    ejections: list[tuple[int, ...]] = [(s,) for s in singles]
    return ejections + same_tour + two_tours


def alternatives(problem: TourProblem, tours: list[Tour]) -> Iterator[list[Tour]]:
    """Other stop sets that reach at least as many people, driving maybe more as they stand.

    Swaps that keep the people (a village for its neighbour), then ejections of one or two
    stops refilled greedily. Their order of visits is left for PyVRP to shorten: an
    alternative that drives more as built may drive less once its tours are re-planned.
    """
    people = score_tours(problem, tours)[0]
    chosen = selected(tours)
    alone = marginal_people(problem, tours)
    for old in chosen.tolist():
        without = _without(tours, (old,))
        adds = marginal_people(problem, without)
        adds[chosen] = -1.0
        for new in np.flatnonzero(adds >= alone[old] - 1e-9).tolist():
            swapped = _inserted(problem, without, new, relocate=True)
            if swapped is not None and score_tours(problem, swapped)[0] >= people - 1e-9:
                yield swapped
    for ejected in _ejections(tours, chosen.tolist()):
        trial = fill_greedily(problem, _without(tours, ejected), banned=ejected)
        if score_tours(problem, trial)[0] >= people - 1e-9:
            yield trial
