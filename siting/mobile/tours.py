"""Covering tour instances: tours of a mobile office, their driving time and people reached."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Tour = tuple[int, tuple[int, ...]]  # (depot, stops in visiting order)
EPS_MIN = 1e-6  # minutes: sums of float32 travel times are compared with this slack


@dataclass(frozen=True, eq=False)
class TourProblem:
    """A covering tour instance on plain arrays.

    Attributes
    ----------
    travel_minutes
        (n_depots + n_stops) square matrix, depots first; inf where there is no road.
    n_depots
        Number of depots (the first rows).
    tours_per_depot
        Tours each depot may run in the planning period (vehicles times days).
    stop_minutes, day_minutes
        Time at each stop; the longest tour (driving plus stops).
    cover
        (n_rows, n_stops) 0/1 CSR: demand rows within reach of each stop.
    row_weight
        People of each row.
    """

    travel_minutes: FloatArray
    n_depots: int
    tours_per_depot: IntArray
    stop_minutes: float
    day_minutes: float
    cover: sp.csr_matrix
    row_weight: FloatArray

    @property
    def n_stops(self) -> int:
        """Number of candidate stops."""
        return int(self.cover.shape[1])

    @cached_property
    def by_stop(self) -> sp.csr_matrix:
        """(n_stops, n_rows) float CSR: the rows each stop reaches."""
        return sp.csr_matrix(self.cover.T, dtype=np.float64)

    @cached_property
    def stop_people(self) -> FloatArray:
        """People each stop reaches on its own."""
        return np.asarray(self.by_stop @ self.row_weight, dtype=np.float64)

    def path(self, tour: Tour) -> IntArray:
        """Location indices of a tour: depot, stops, depot."""
        depot, stops = tour
        return np.array([depot, *(self.n_depots + s for s in stops), depot], dtype=np.int64)

    def driving_minutes(self, tour: Tour) -> float:
        """Driving time of a tour from its depot through its stops and back."""
        path = self.path(tour)
        return float(self.travel_minutes[path[:-1], path[1:]].sum())

    def fits(self, tour: Tour) -> bool:
        """Whether a tour ends within the day (driving plus time at its stops)."""
        total = self.driving_minutes(tour) + self.stop_minutes * len(tour[1])
        return total <= self.day_minutes + EPS_MIN


def empty_tours(problem: TourProblem) -> list[Tour]:
    """One empty tour per vehicle and day of each depot."""
    return [
        (depot, ())
        for depot in range(problem.n_depots)
        for _ in range(int(problem.tours_per_depot[depot]))
    ]


def selected(tours: list[Tour]) -> IntArray:
    """The stops the tours visit."""
    return np.array([s for _, stops in tours for s in stops], dtype=np.int64)


def cover_counts(problem: TourProblem, stops: IntArray) -> IntArray:
    """How many of `stops` reach each demand row."""
    chosen = np.bincount(stops, minlength=problem.n_stops).astype(np.float64)
    counts: IntArray = np.rint(problem.cover @ chosen).astype(np.int64)
    return counts


def people_added(problem: TourProblem, counts: IntArray) -> FloatArray:
    """People each stop reaches whom none of the stops behind `counts` reaches."""
    return np.asarray(problem.by_stop @ (problem.row_weight * (counts == 0)), dtype=np.float64)


def score_tours(problem: TourProblem, tours: list[Tour]) -> tuple[float, float]:
    """People within reach of a visited stop, and the driving minutes of all tours."""
    counts = cover_counts(problem, selected(tours))
    people = float(problem.row_weight[counts > 0].sum())
    return people, float(sum(problem.driving_minutes(t) for t in tours))


def better(problem: TourProblem, tours: list[Tour], than: list[Tour]) -> bool:
    """More people, or as many with less driving."""
    people, driving = score_tours(problem, tours)
    best_people, best_driving = score_tours(problem, than)
    if not math.isclose(people, best_people, rel_tol=1e-12, abs_tol=1e-9):
        return people > best_people
    return driving < best_driving - EPS_MIN


def marginal_people(problem: TourProblem, tours: list[Tour]) -> FloatArray:
    """People each stop adds (not visited) or alone reaches (visited), given `tours`."""
    chosen = selected(tours)
    counts = cover_counts(problem, chosen)
    unique = problem.by_stop @ (problem.row_weight * (counts == 1))
    marginal = people_added(problem, counts)
    marginal[chosen] = unique[chosen]
    return marginal


def shared_people(problem: TourProblem, tours: list[Tour]) -> FloatArray:
    """Prizes that add up to the people reached: visited stops share each person equally.

    An unvisited stop's prize is the people nobody reaches yet (exact for adding it); a
    visited stop's is its share of the people it reaches, so the prizes of the visited stops
    sum to the people reached. With no stop visited, every stop gets its share among all
    stops that reach each person.
    """
    chosen = selected(tours)
    counts = cover_counts(problem, chosen)
    if chosen.size == 0:
        reaching = np.asarray(problem.cover.sum(axis=1)).ravel()
        share = problem.row_weight / np.maximum(reaching, 1.0)
        return np.asarray(problem.by_stop @ share, dtype=np.float64)
    share = problem.by_stop @ (problem.row_weight / np.maximum(counts, 1))
    prizes = people_added(problem, counts)
    prizes[chosen] = share[chosen]
    return prizes
