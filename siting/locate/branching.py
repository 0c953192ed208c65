"""Prove the p-median optimum by Lagrangian branch and bound on sites, for few offices.

With p = 5-10 on graphs of 600-900 nodes the Lagrangian (= LP) bound lies 0.4-0.9 % below
the optimum and HiGHS branched for 29-219 s on the radius model, each node an LP of
thousands of rows. Here each node of the tree fixes one site open or closed and is bounded
by subgradient steps of Beasley's relaxation (1,500 at the root, then 30 per node,
warm-started from the parent's multipliers) over the pairs the root leaves: tens of
microseconds a step. The penalty tests then fix further sites at every node, so tens to
hundreds of nodes prove the optimum (n = 800, p = 5: 209 nodes, under 2 s).

Notes
-----
The relaxation at a node with sites :math:`O` fixed open and :math:`Z` fixed closed
(Beasley 1993, "Lagrangean heuristics for location problems", EJOR 65, 383-399; the tree as
in Christofides and Beasley 1982, "A tree search algorithm for the p-median problem",
EJOR 10, 196-204):

.. math:: L(\\lambda) = \\sum_i \\lambda_i + \\sum_{j \\in O} \\rho_j
          + \\min_{|S| = p - |O|, S \\cap (O \\cup Z) = \\emptyset} \\sum_{j \\in S} \\rho_j,
          \\qquad \\rho_j = \\sum_i \\min(0, c_{ij} - \\lambda_i)

Any :math:`\\lambda` gives a valid bound. Two restrictions lose nothing and speed the
ascent: :math:`\\lambda_i` at most the cost to the row's nearest site in :math:`O` (above
it the bound cannot rise) and at least the cost to its nearest site not in :math:`Z`
(below it the row adds only :math:`\\lambda_i`). A node is pruned when its bound shows that
it holds no answer cheaper than the incumbent (with integer costs: none cheaper by a whole
unit); otherwise the penalty tests of `siting.locate.lagrangian` fix its sites, and it
branches on the free site of least :math:`\\rho_j` in the relaxed answer, open first, depth
first. Each node's relaxed answer is priced as a candidate incumbent; at the root also the
relaxed answer at each new best bound (at most every `PRICE_EVERY` steps), and the steps
aim at the cheapest found (Held, Wolfe and Crowder's target).

Choices made here rather than taken from the papers: the incumbent comes from greedy plus
swaps (`siting.locate.sorted_swaps`); after the root, the pairs its pair test rules out
leave the tree (an answer cheaper than the incumbent uses none of them); the step counts
and sizes above were tuned on the graphs of `scripts/bench_pmedian.py`; with each
row's pairs sorted by cost a step stops reading a row at its first pair dearer than its
multiplier, so a step costs about ``n m / p`` reads, not ``n m``; the subgradient counts
:math:`\\sum_j x_{ij}` from the chosen sites' pairs grouped by site; and from 1 million
pairs the rows of a step are split over the cores (100,000 x 2,000: 0.2 s a step).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import prange

from siting._core.jit import compiled, compiled_parallel
from siting.locate.instance import BoolArray, FloatArray, IntArray
from siting.locate.lagrangian import CLOSED_GAP
from siting.locate.mip import MipResult
from siting.locate.sorted_pairs import PARALLEL_PAIRS, SortedPairs, parts_for
from siting.travel.odmatrix import row_pointers

logger = logging.getLogger(__name__)

OPEN, FREE, CLOSED = 1, 0, -1
#: Subgradient steps at the root of the tree and at each later node (warm-started there).
ROOT_STEPS, NODE_STEPS = 1500, 30
#: Steps without a better bound before the step size halves (at the root, at later nodes);
#: the ascent stops below MIN_STEP.
ROOT_PATIENCE, PATIENCE, MIN_STEP = 30, 15, 1e-3
#: Starting step size (the pi of Held, Wolfe and Crowder) at the root and at later nodes.
NODE_STEP_SIZE = 1.0
#: Rounds of penalty fixing and re-bounding at one node before it branches.
FIXING_ROUNDS = 4
#: Steps between two pricings of the relaxed answer during the root's ascent (its target
#: is the incumbent: at 10,000 x 500, p = 10, greedy plus swaps ends 4.6 % above the optimum).
PRICE_EVERY = 10
#: Weight of the new subgradient in the direction at the root and at later nodes (the
#: volume algorithm's alpha, Barahona and Anbil 2000; 1: plain subgradient steps). At
#: 100,000 x 2,000, p = 10, 0.7 ended the root's 120 s at a 4.3 % gap, plain steps at 5.1 %;
#: on the 500-900 node graphs and Dalarna the trees took the same time.
ROOT_DEFLECTION, NODE_DEFLECTION = 0.7, 1.0

Int8Array = npt.NDArray[np.int8]


@dataclass
class _Tree:
    """The search's shared state: pairs, incumbent, pruning rule and what the pruned proved."""

    pairs: SortedPairs
    n_sites: int
    upper: float
    best_open: BoolArray
    gap: float
    integral: bool
    deadline: float | None
    proven: float = math.inf  # least bound of a pruned node or a priced leaf
    nodes: int = 0

    def prune_at(self) -> float:
        """Bounds at or above this prove a node holds no answer better than the incumbent."""
        upper = self.upper
        if not math.isfinite(upper):
            return math.inf
        level = upper - max(self.gap, CLOSED_GAP) * abs(upper)
        if self.integral:  # integer costs: an answer below the incumbent is a unit below
            level = min(level, upper - 1.0 + min(0.5, 1e-6 * max(abs(upper), 1.0)))
        return level

    def offer(self, cost: float, open_sites: BoolArray) -> None:
        """Take `open_sites` as the incumbent when it costs less."""
        if cost < self.upper:
            self.upper, self.best_open = cost, open_sites.copy()

    def settle(self, bound: float) -> None:
        """Record the bound of a node that leaves the tree."""
        if self.integral and math.isfinite(bound):
            bound = math.ceil(bound - min(0.5, 1e-6 * max(abs(bound), 1.0)))
        self.proven = min(self.proven, bound)


@dataclass(frozen=True)
class _Node:
    state: Int8Array
    multipliers: FloatArray
    bound: float


def solve_by_branching(
    pairs: SortedPairs,
    n_sites: int,
    fixed: tuple[BoolArray, BoolArray],
    incumbent: tuple[float, BoolArray],
    *,
    multipliers: FloatArray | None = None,
    mip_gap: float = 0.0,
    deadline: float | None = None,
) -> MipResult:
    """Open `n_sites` sites of least total cost by Lagrangian branch and bound on sites.

    Parameters
    ----------
    pairs
        Usable demand-site pairs with their costs (weight x minutes); pairs no answer cheaper
        than the incumbent uses may be left out.
    n_sites
        Number of open sites, fixed-open ones included.
    fixed
        Sites fixed open and sites fixed closed (masks over the columns).
    incumbent
        Cost and open-site mask of an answer (greedy plus swaps); cost inf when there is none.
    multipliers
        Per row, starting multipliers; None: each row's cost in the incumbent (near the LP
        duals of geographic instances, as in `siting.locate.lagrangian`).
    mip_gap
        Relative gap at which a node counts as closed.
    deadline
        A `time.perf_counter` value after which the search stops with its gap.

    Returns
    -------
    MipResult
        Values: the open-site mask (site columns only); the bound is the least bound of the
        nodes pruned or left open; status "optimal" (the search ended: the gap is proven,
        within `mip_gap`) or "time limit".

    Notes
    -----
    Lagrangian branch and bound (Christofides and Beasley 1982; relaxation of Beasley 1993);
    the module notes give the node relaxation and where the code departs from the papers.
    """
    started = time.perf_counter()
    upper, best_open = incumbent
    integral = bool(np.all(pairs.cost == np.round(pairs.cost)))
    tree = _Tree(pairs, n_sites, upper, best_open.copy(), mip_gap, integral, deadline)
    fixed_open, fixed_closed = fixed
    state = np.where(fixed_open, OPEN, np.where(fixed_closed, CLOSED, FREE)).astype(np.int8)
    start = multipliers if multipliers is not None else _incumbent_costs(pairs, best_open)
    left = _search(tree, _Node(state, start.astype(np.float64), -math.inf))
    bound = float(min(tree.proven, tree.upper, left))
    gap = max(tree.upper - bound, 0.0) / max(abs(tree.upper), 1e-12)
    # a search that ran out proved its gap; `make_solution` names a gap over PROVEN_GAP
    status = "time limit" if math.isfinite(left) else "optimal"
    seconds = time.perf_counter() - started
    logger.info(
        "p-median branch and bound: %g, bound %g, %d nodes, %.2f s (%s)",
        tree.upper,
        bound,
        tree.nodes,
        seconds,
        status,
    )
    values = tree.best_open.astype(np.float64)
    return MipResult(values, tree.upper, bound, gap, status, seconds)


def _search(tree: _Tree, root: _Node) -> float:
    """Depth first from `root`; the least bound of the nodes left when the deadline stops
    the search (inf when it ends). After the root, the pairs it rules out leave the tree."""
    children, relaxed = _visit(tree, root, ROOT_STEPS)
    if relaxed is not None and not _past(tree.deadline):  # no node would read fewer pairs
        _drop_pairs(tree, relaxed)
    stack = children
    while stack:
        if _past(tree.deadline):
            return min(node.bound for node in stack)
        node = stack.pop()
        if node.bound >= tree.prune_at():  # the incumbent improved since it was made
            tree.settle(node.bound)
            continue
        stack.extend(_visit(tree, node, NODE_STEPS)[0])
    return math.inf


@dataclass(frozen=True)
class _Relaxed:
    """A node's relaxation at its best multipliers: L there (`value`), the node's bound
    (at least its parent's), rho, the relaxed answer, the node's state and multipliers."""

    value: float
    bound: float
    rho: FloatArray
    chosen: BoolArray
    state: Int8Array
    multipliers: FloatArray


def _visit(tree: _Tree, node: _Node, steps: int) -> tuple[list[_Node], _Relaxed | None]:
    """Bound the node, fix what the penalties allow and re-bound; its two children (none
    when it is pruned or its sites are all decided) and its last relaxation."""
    tree.nodes += 1
    state, multipliers = node.state.copy(), node.multipliers.copy()
    relaxed = None
    for _ in range(FIXING_ROUNDS):
        if _decided(tree, state):
            return [], None
        if relaxed is not None and _past(tree.deadline):
            break  # branch on what is known; the search stops at its next node
        bound = node.bound if relaxed is None else relaxed.bound
        relaxed = _bound(tree, state, multipliers, steps, bound)
        steps = NODE_STEPS  # re-bounding after a fixing starts from good multipliers
        if relaxed.bound >= tree.prune_at():
            tree.settle(relaxed.bound)
            return [], None
        if not _fix_by_penalties(tree, relaxed):
            break
    if relaxed is None or _decided(tree, state):
        return [], None
    return _children(relaxed), relaxed


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.perf_counter() > deadline


def _decided(tree: _Tree, state: Int8Array) -> bool:
    """Whether the node needs no bound: too many open, too few left, or one set left (priced)."""
    n_open = int((state == OPEN).sum())
    n_free = int((state == FREE).sum())
    if n_open > tree.n_sites or n_open + n_free < tree.n_sites:
        return True  # no answer in this node
    if n_open < tree.n_sites and n_open + n_free > tree.n_sites:
        return False
    open_sites = state == OPEN if n_open == tree.n_sites else state != CLOSED
    pairs = tree.pairs
    cost = _set_cost(pairs.indptr, pairs.columns, pairs.cost, open_sites)
    tree.offer(cost, open_sites)
    tree.settle(cost)
    return True


def _bound(
    tree: _Tree, state: Int8Array, multipliers: FloatArray, steps: int, parent: float
) -> _Relaxed:
    """Subgradient ascent at the node (`multipliers` updated in place to the best found);
    the relaxed answer is offered as an incumbent. The node's bound is at least its
    parent's, which bounds it too."""
    pairs = tree.pairs
    n_rows = pairs.indptr.size - 1
    floor, ceiling = np.empty(n_rows), np.empty(n_rows)
    rho = np.zeros(pairs.n_columns)
    chosen = np.zeros(pairs.n_columns, dtype=np.bool_)
    if not _row_limits(pairs.indptr, pairs.columns, pairs.cost, state, floor, ceiling):
        return _Relaxed(math.inf, math.inf, rho, chosen, state, multipliers)  # a row has no site
    np.clip(multipliers, floor, ceiling, out=multipliers)
    n_choose = tree.n_sites - int((state == OPEN).sum())
    arrays = (pairs.indptr, pairs.columns, pairs.cost, state, n_choose, parts_for(pairs.cost.size))
    by_site = pairs.by_site
    root = steps == ROOT_STEPS
    step, patience = (2.0, ROOT_PATIENCE) if root else (NODE_STEP_SIZE, PATIENCE)
    deflection = ROOT_DEFLECTION if root else NODE_DEFLECTION
    # the target and the stopping level, both lowered when the ascent prices a better answer
    incumbent, found = np.array([tree.upper, tree.prune_at()]), tree.best_open.copy()
    limits = (floor, ceiling, incumbent, found)
    schedule = (steps, step, patience, deflection, PRICE_EVERY if root else 0)
    _ascend_until(arrays, by_site, multipliers, limits, schedule, tree.deadline)
    tree.offer(float(incumbent[0]), found)
    value = _relax(*arrays, multipliers, rho, chosen)
    tree.offer(_set_cost(pairs.indptr, pairs.columns, pairs.cost, chosen), chosen)
    return _Relaxed(value, max(value, parent), rho, chosen, state, multipliers)


def _fix_by_penalties(tree: _Tree, relaxed: _Relaxed) -> bool:
    """Close free sites whose opening, and open those whose closing, lifts L to the pruning
    level (the penalty tests of `siting.locate.lagrangian`, on L at these multipliers, not
    on the parent's bound); whether any changed. Changes `relaxed.state` in place."""
    state, rho, chosen, value = relaxed.state, relaxed.rho, relaxed.chosen, relaxed.value
    free = state == FREE
    free_in, free_out = free & chosen, free & ~chosen
    if not free_in.any() or not free_out.any():
        return False
    worst_in, best_out = float(rho[free_in].max()), float(rho[free_out].min())
    level = tree.prune_at()
    closing = free_out & (value + rho - worst_in >= level)
    opening = free_in & (value - rho + best_out >= level)
    state[closing], state[opening] = CLOSED, OPEN
    return bool(closing.any() or opening.any())


def _drop_pairs(tree: _Tree, relaxed: _Relaxed) -> None:
    """Leave out pairs at closed sites and pairs whose forced use lifts L to the pruning
    level (the pair test of `siting.locate.lagrangian`): no answer cheaper than the
    incumbent uses them, and later steps read fewer pairs."""
    pairs, state, rho, chosen = tree.pairs, relaxed.state, relaxed.rho, relaxed.chosen
    n_rows = pairs.indptr.size - 1
    rows = np.repeat(np.arange(n_rows), np.diff(pairs.indptr))
    free_in = (state == FREE) & chosen
    worst_in = float(rho[free_in].max()) if free_in.any() else math.inf
    opening = np.where(chosen, 0.0, rho - worst_in)
    reduced = np.maximum(pairs.cost - relaxed.multipliers[rows], 0.0)
    forced = relaxed.value + reduced + opening[pairs.columns]
    keep = (state[pairs.columns] != CLOSED) & (forced < tree.prune_at())
    tree.pairs = SortedPairs(
        row_pointers(rows[keep], n_rows),
        pairs.columns[keep],
        pairs.cost[keep],
        pairs.n_columns,
    )
    logger.info("p-median branch and bound: %d of %d pairs kept", int(keep.sum()), keep.size)


def _children(relaxed: _Relaxed) -> list[_Node]:
    """Branch on the free site of least rho that the relaxed answer opens (any free site
    when it opens none): the closed child first on the stack, so the open one runs first."""
    state, rho, chosen = relaxed.state, relaxed.rho, relaxed.chosen
    free = state == FREE
    candidates = free & chosen if (free & chosen).any() else free
    site = int(np.flatnonzero(candidates)[np.argmin(rho[candidates])])
    closed, opened = state.copy(), state.copy()
    closed[site], opened[site] = CLOSED, OPEN
    multipliers, bound = relaxed.multipliers, relaxed.bound
    return [_Node(closed, multipliers, bound), _Node(opened, multipliers, bound)]


def _incumbent_costs(pairs: SortedPairs, open_sites: BoolArray) -> FloatArray:
    """Per row, its cost at its nearest site of `open_sites` (near the LP duals); where it
    has none, at its nearest site."""
    costs = pairs.nearest_cost(open_sites)
    return np.where(np.isfinite(costs), costs, pairs.cost[pairs.indptr[:-1]])


# The kernels below run once per subgradient step (hundreds per node, thousands of nodes):
# a step is a loop over each row's sorted pairs that stops at the row's multiplier, which
# numpy cannot express without reading every pair, hence numba.


@compiled
def _row_limits(
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    state: Int8Array,
    floor: FloatArray,
    ceiling: FloatArray,
) -> bool:
    """Per row the cost of its nearest site not closed (`floor`) and nearest open one
    (`ceiling`, inf when none); False when some row has no site left."""
    for row in range(indptr.size - 1):
        floor[row], ceiling[row] = np.inf, np.inf
        for k in range(indptr[row], indptr[row + 1]):
            site_state = state[columns[k]]
            if site_state == CLOSED:
                continue
            floor[row] = min(floor[row], cost[k])
            if site_state == OPEN:
                ceiling[row] = cost[k]
                break
        if floor[row] == np.inf:
            return False
    return True


@compiled
def _relax(
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    state: Int8Array,
    n_choose: int,
    n_parts: int,
    multipliers: FloatArray,
    rho: FloatArray,
    chosen: BoolArray,
) -> float:
    """L(lambda) at the node: rho per site, and `chosen` the open sites plus the `n_choose`
    free ones of least rho (ties to the lower index); rows in `n_parts` blocks, one per core."""
    rho[:] = 0.0
    if n_parts == 1:  # no threads for a small node: its step takes microseconds
        total = _relax_rows(0, indptr.size - 1, indptr, columns, cost, state, multipliers, rho)
    else:
        total = _relax_parts(indptr, columns, cost, state, n_parts, multipliers, rho)
    picks = np.full(max(n_choose, 1), -1, dtype=np.int64)
    values = np.full(max(n_choose, 1), np.inf)
    for site in range(rho.size):
        chosen[site] = state[site] == OPEN
        if chosen[site]:
            total += rho[site]
        elif state[site] == FREE and n_choose > 0 and rho[site] < values[n_choose - 1]:
            slot = n_choose - 1  # insertion into the sorted short list
            while slot > 0 and values[slot - 1] > rho[site]:
                values[slot], picks[slot] = values[slot - 1], picks[slot - 1]
                slot -= 1
            values[slot], picks[slot] = rho[site], site
    for slot in range(n_choose):
        chosen[picks[slot]] = True
        total += values[slot]
    return total


# parallel apart from `_relax` and `_ascend`: in a function compiled parallel, numba runs
# even ``rho[:] = 0`` on threads, and waking them each step made Dalarna's tree 15-45x slower
@compiled_parallel
def _relax_parts(
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    state: Int8Array,
    n_parts: int,
    multipliers: FloatArray,
    rho: FloatArray,
) -> float:
    """`_relax_rows` over all rows in `n_parts` blocks, one per core; adds to `rho`."""
    n_rows = indptr.size - 1
    partial = np.zeros((n_parts, rho.size))
    sums = np.zeros(n_parts)
    for part in prange(n_parts):
        first, last = part * n_rows // n_parts, (part + 1) * n_rows // n_parts
        arrays = (indptr, columns, cost, state, multipliers, partial[part])
        sums[part] = _relax_rows(first, last, *arrays)
    for part in range(n_parts):
        rho += partial[part]
    return float(sums.sum())


@compiled
def _relax_rows(
    first: int,
    last: int,
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    state: Int8Array,
    multipliers: FloatArray,
    rho: FloatArray,
) -> float:
    """Rows first..last-1 of L: their multipliers' sum, and rho (added to) over their
    pairs cheaper than the multiplier, each row read only that far."""
    total = 0.0
    for row in range(first, last):
        level = multipliers[row]
        total += level
        for k in range(indptr[row], indptr[row + 1]):
            if cost[k] >= level:
                break
            if state[columns[k]] != CLOSED:
                rho[columns[k]] += cost[k] - level
    return total


#: Subgradient steps between two looks at the deadline: at 100,000 x 2,000 a step takes
#: 0.1-0.3 s, and the root's 1,500 would overrun any time limit.
STEPS_PER_LOOK = 10


def _ascend_until(
    arrays: tuple[IntArray, IntArray, FloatArray, Int8Array, int, int],
    by_site: tuple[IntArray, IntArray, FloatArray],
    multipliers: FloatArray,
    limits: tuple[FloatArray, FloatArray, FloatArray, BoolArray],
    schedule: tuple[int, float, int, float, int],
    deadline: float | None,
) -> None:
    """`_ascend` in rounds of `STEPS_PER_LOOK` steps until its steps are spent, it stops, or
    `deadline` passes; leaves `multipliers` at the best found. The rounds resume one
    another exactly, so without a deadline the ascent is one call."""
    steps, step, patience, deflection, price_every = schedule
    # best bound, step size, stall, stopped, steps taken, step of the last pricing
    progress = np.array([-np.inf, step, 0.0, 0.0, 0.0, -np.inf])
    best_multipliers = multipliers.copy()
    direction = np.zeros(multipliers.size)
    floor, ceiling, incumbent, found = limits
    indptr, columns, cost, state, n_choose, n_parts = arrays
    site_pointer, site_rows, site_cost = by_site
    # below `PARALLEL_PAIRS` all the steps take a second or less: one call, as each call
    # costs tens of microseconds, which thousands of small nodes felt (2-5x slower)
    big = deadline is not None and arrays[2].size >= PARALLEL_PAIRS
    per_call = STEPS_PER_LOOK if big else steps
    started, left = time.perf_counter(), steps
    while left > 0 and progress[3] == 0.0 and not _past(deadline):
        chunk = min(left, per_call)
        _ascend(
            indptr, columns, cost, state, n_choose, n_parts, site_pointer, site_rows, site_cost,
            multipliers, best_multipliers, direction, floor, ceiling, incumbent, found, chunk,
            patience, deflection, price_every, progress,
        )  # fmt: skip
        left -= chunk
        if big:  # a trace of the long ascents at scale
            logger.debug(
                "ascent: step %d, bound %g, target %g", steps - left, *progress[:1], incumbent[0]
            )
    multipliers[:] = best_multipliers
    logger.debug(
        "ascent: bound %g after at most %d steps, %.2f s",
        progress[0],
        steps - left,
        time.perf_counter() - started,
    )


@compiled
def _ascend(
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    state: Int8Array,
    n_choose: int,
    n_parts: int,
    site_pointer: IntArray,
    site_rows: IntArray,
    site_cost: FloatArray,
    multipliers: FloatArray,
    best_multipliers: FloatArray,
    direction: FloatArray,
    floor: FloatArray,
    ceiling: FloatArray,
    incumbent: FloatArray,
    found: BoolArray,
    steps: int,
    patience: int,
    deflection: float,
    price_every: int,
    progress: FloatArray,
) -> None:
    """Subgradient ascent (Held, Wolfe and Crowder 1974 steps toward the incumbent's cost
    ``incumbent[0]``; it stops at ``incumbent[1]``) within [floor, ceiling], from
    `multipliers` (moved) and `progress` (best bound, step size, stall count, stopped flag,
    steps, last pricing; updated) so that calls resume one another; the best multipliers
    found go to `best_multipliers`. At a new best bound, `price_every` steps or more after
    the last pricing (0: never), the relaxed answer is priced and taken (`_price`) when
    cheaper; the direction mixes each subgradient into the last
    one with weight `deflection` (1: plain steps)."""
    n_rows = indptr.size - 1
    rho = np.zeros(state.size)
    chosen = np.zeros(state.size, dtype=np.bool_)
    gradient = np.empty(n_rows)
    best, step, stall = progress[0], progress[1], int(progress[2])
    for _ in range(steps):
        lower = _relax(indptr, columns, cost, state, n_choose, n_parts, multipliers, rho, chosen)
        if lower > best + 1e-12 * abs(lower):
            best, stall = lower, 0
            best_multipliers[:] = multipliers
            if price_every > 0 and progress[4] - progress[5] >= price_every:
                progress[5] = progress[4]  # the answer at a new best bound: often a good one
                _price(indptr, columns, cost, chosen, incumbent, found)
        else:
            stall += 1
            if stall >= patience:
                step, stall = step / 2, 0
        if best >= incumbent[1] or step < MIN_STEP:
            progress[3] = 1.0
            break
        # 1 - x_ij summed over the chosen sites cheaper than the row's multiplier, read by
        # site: p sites' pairs, not every row's pairs up to its multiplier
        gradient[:] = 1.0
        for site in np.flatnonzero(chosen):
            for k in range(site_pointer[site], site_pointer[site + 1]):
                if site_cost[k] < multipliers[site_rows[k]]:
                    gradient[site_rows[k]] -= 1.0
        if not gradient.any():
            progress[3] = 1.0
            break  # every row served once: the relaxed answer is optimal at this node
        keep = 0.0 if progress[4] == 0.0 else 1.0 - deflection
        progress[4] += 1.0
        norm = 0.0
        for row in range(n_rows):
            direction[row] = keep * direction[row] + (1.0 - keep) * gradient[row]
            norm += direction[row] * direction[row]
        if norm == 0.0:
            continue
        move = step * (incumbent[0] - lower) / norm
        for row in range(n_rows):
            value = multipliers[row] + move * direction[row]
            multipliers[row] = min(max(value, floor[row]), ceiling[row])
    progress[0], progress[1], progress[2] = best, step, stall


@compiled
def _price(
    indptr: IntArray,
    columns: IntArray,
    cost: FloatArray,
    chosen: BoolArray,
    incumbent: FloatArray,
    found: BoolArray,
) -> None:
    """Take `chosen` into `found` when it costs less than ``incumbent[0]``, lowering that
    target and the stopping level ``incumbent[1]`` by as much (a level no higher than the
    tree's, so the ascent never stops before a pruned node would)."""
    value = _set_cost(indptr, columns, cost, chosen)
    if value < incumbent[0]:
        if np.isfinite(incumbent[0]):
            incumbent[1] -= incumbent[0] - value
        else:  # no incumbent before: stop at the answer's cost, later rather than sooner
            incumbent[1] = value
        incumbent[0] = value
        found[:] = chosen


@compiled
def _set_cost(
    indptr: IntArray, columns: IntArray, cost: FloatArray, open_sites: BoolArray
) -> float:
    """Total cost with each row at its cheapest open site (inf when a row has none)."""
    total = 0.0
    for row in range(indptr.size - 1):
        nearest = np.inf
        for k in range(indptr[row], indptr[row + 1]):
            if open_sites[columns[k]]:
                nearest = cost[k]
                break
        total += nearest
    return total
