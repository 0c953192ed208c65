"""Run PyVRP on covering tour instances: prize-collecting rounds and least-driving orders."""

from __future__ import annotations

import math
import warnings

import numpy as np
from pyvrp import (
    Client,
    Depot,
    Location,
    PenaltyParams,
    ProblemData,
    Route,
    Solution,
    SolveParams,
    VehicleType,
)
from pyvrp import solve as pyvrp_solve
from pyvrp.constants import MAX_VALUE
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import (
    MaxIterations,
    MaxRuntime,
    MultipleCriteria,
    NoImprovement,
    StoppingCriterion,
)

from siting.mobile.tours import (
    FloatArray,
    IntArray,
    Tour,
    TourProblem,
    empty_tours,
    score_tours,
)

TICKS_PER_MINUTE = 60  # PyVRP works in integers: whole seconds
NO_IMPROVEMENT_ITERATIONS = 3_000


def _ticks(minutes: FloatArray) -> IntArray:
    # round up so that a tour PyVRP accepts also fits in the exact minutes
    finite = np.isfinite(minutes)
    ticks = np.ceil(np.where(finite, minutes, 0.0) * TICKS_PER_MINUTE - 1e-6)
    return np.where(finite, np.maximum(ticks, 0), MAX_VALUE).astype(np.int64)


def problem_data(problem: TourProblem, clients: list[Client]) -> ProblemData:
    """PyVRP's instance: locations, depots, one vehicle type per depot, `clients` as stops."""
    ticks = _ticks(problem.travel_minutes)
    np.fill_diagonal(ticks, 0)
    day_ticks = math.floor(problem.day_minutes * TICKS_PER_MINUTE + 1e-6)
    return ProblemData(
        [Location(0.0, 0.0) for _ in range(ticks.shape[0])],
        clients,
        [Depot(location=depot) for depot in range(problem.n_depots)],
        [
            VehicleType(
                num_available=int(count),
                start_depot=depot,
                end_depot=depot,
                shift_duration=day_ticks,
            )
            for depot, count in enumerate(problem.tours_per_depot)
            if count > 0
        ],
        [ticks],  # type: ignore[list-item]  # the stub's ndarray[int] is not a real shape
        [ticks],  # type: ignore[list-item]
    )


def _prize_per_person(problem: TourProblem) -> float:
    """Seconds of driving one person is worth in PyVRP's prizes.

    The smallest stop is worth a whole day of driving, so PyVRP never gives up people to
    save minutes (people come first); the largest stop's prize stays below 1e9 so that
    prizes and penalties stay far from integer overflow.
    """
    positive = problem.stop_people[problem.stop_people > 0]
    if positive.size == 0:
        return 1.0
    day_ticks = problem.day_minutes * TICKS_PER_MINUTE
    return float(min(day_ticks / float(positive.min()), 1e9 / float(positive.max())))


def _solve_params(problem: TourProblem) -> SolveParams:
    """PyVRP's parameters, with penalties able to outweigh the largest prize.

    At its cap a second over the day costs as much as the largest stop is worth: with
    PyVRP's default cap (1e5) large prizes would make overlong tours pay.
    """
    largest = float(problem.stop_people.max(initial=0.0)) * _prize_per_person(problem)
    return SolveParams(penalty=PenaltyParams(max_penalty=max(1e5, largest)))


def _clients(problem: TourProblem, people: FloatArray, required: bool = False) -> list[Client]:
    service = max(math.ceil(problem.stop_minutes * TICKS_PER_MINUTE - 1e-6), 0)
    scale = _prize_per_person(problem)
    return [
        Client(
            location=problem.n_depots + stop,
            service_duration=service,
            prize=round(float(people[stop]) * scale),
            required=required,
        )
        for stop in range(problem.n_stops)
    ]


def _as_solution(data: ProblemData, tours: list[Tour], client_of: dict[int, int]) -> Solution:
    vehicle_type = {vehicle.start_depot: i for i, vehicle in enumerate(data.vehicle_types())}
    routes = [
        Route(data, [client_of[s] for s in stops], vehicle_type[depot])
        for depot, stops in tours
        if stops
    ]
    return Solution(data, routes)


def _from_solution(problem: TourProblem, solution: Solution, stop_of: list[int]) -> list[Tour]:
    """Tours of a PyVRP solution, padded with empty tours to every depot's count."""
    tours: list[Tour] = []
    for route in solution.routes():
        stops = tuple(stop_of[a.idx] for a in route.schedule() if a.is_client())
        tours.append((int(route.start_depot()), stops))
    used = np.bincount([d for d, _ in tours], minlength=problem.n_depots)
    for depot in range(problem.n_depots):
        tours.extend((depot, ()) for _ in range(int(problem.tours_per_depot[depot] - used[depot])))
    return sorted(tours, key=lambda tour: (tour[0], tour[1] == ()))


def _stop_criterion(seconds: float, max_iterations: int | None) -> MultipleCriteria:
    criteria: list[StoppingCriterion] = [
        MaxRuntime(max(seconds, 0.01)),
        NoImprovement(NO_IMPROVEMENT_ITERATIONS),
    ]
    if max_iterations is not None:
        criteria.append(MaxIterations(max_iterations))
    return MultipleCriteria(criteria)


def _run(
    problem: TourProblem,
    data: ProblemData,
    initial: Solution,
    *,
    seed: int,
    seconds: float,
    max_iterations: int | None,
) -> Solution | None:
    with warnings.catch_warnings():
        # PyVRP warns when its duration penalty sits at the cap while many tries overrun the
        # day (tight days do that); feasibility is checked below and the caller keeps its
        # previous answer when the search found none
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp_solve(
            data,
            _stop_criterion(seconds, max_iterations),
            seed=seed,
            collect_stats=False,
            display=False,
            params=_solve_params(problem),
            initial_solution=initial,
        )
    return result.best if result.best.is_feasible() else None


def solve_prize_round(
    problem: TourProblem,
    people: FloatArray,
    start: list[Tour] | None = None,
    *,
    seed: int,
    seconds: float,
    max_iterations: int | None = None,
) -> list[Tour] | None:
    """One prize-collecting solve: every stop optional, its prize `people` (additive).

    Starts from `start` (empty tours when None); None when PyVRP finds no feasible answer.
    """
    data = problem_data(problem, _clients(problem, people))
    identity = list(range(problem.n_stops))
    initial = _as_solution(data, start or empty_tours(problem), dict(enumerate(identity)))
    found = _run(problem, data, initial, seed=seed, seconds=seconds, max_iterations=max_iterations)
    return None if found is None else _from_solution(problem, found, identity)


def polish(
    problem: TourProblem,
    tours: list[Tour],
    *,
    seed: int,
    seconds: float,
    max_iterations: int | None,
) -> list[Tour]:
    """Least driving over the chosen stops: PyVRP with only them, all required."""
    chosen = sorted(s for _, stops in tours for s in stops)
    if not chosen:
        return tours
    every = _clients(problem, np.zeros(problem.n_stops), required=True)
    only = problem_data(problem, [every[s] for s in chosen])
    initial = _as_solution(only, tours, {s: i for i, s in enumerate(chosen)})
    found = _run(problem, only, initial, seed=seed, seconds=seconds, max_iterations=max_iterations)
    if found is None:
        return tours
    polished = _from_solution(problem, found, chosen)
    return polished if score_tours(problem, polished)[1] < score_tours(problem, tours)[1] else tours
