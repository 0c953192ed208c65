"""A lower bound on the worst group mean from how many sites each region needs, and the
floors per count of sites that also prune `siting.locate.minmax_search`.

The LP bound of the min-max over groups is weak (Dalarna's 15 municipalities, p = 10: about
10 minutes) and so is the Lagrangian bound over blends of the groups (about 15), where the
best plan found has 23.5. Counting sites bounds it better: every site is given to one
region; a region's groups' worst mean with u of its sites open and every other site open is
a floor for any plan with u of its sites, and the regions' counts sum to at most p, so no
plan beats the least value over such counts of the worst floor. A region per group was
weak where a group leans on its neighbour's sites (the floor opens them all), so groups
that lean on each other share a region, up to `MAX_REGION_SITES` sites.

Notes
-----
With regions :math:`A_c` partitioning the free sites, :math:`K_c` their groups,
:math:`O_c` every allowed site outside :math:`A_c` (required ones among them) and

.. math:: h_c(u) = \\min_{T \\subseteq A_c, |T| = u} \\max_{k \\in K_c} M_k(T \\cup O_c),

every plan :math:`S` has :math:`\\max_k M_k(S) \\ge h_c(|S \\cap A_c|)` (a mean only falls
as sites open), so :math:`\\max_k M_k(S) \\ge \\min \\{\\tau : \\sum_c n_c(\\tau) \\le p -
|R|\\}` with :math:`n_c(\\tau)` the least u with :math:`h_c(u) \\le \\tau` and R the
required sites. :math:`h_c(u)` is found exactly by the search over site sets on the
region's groups alone. A site's group is the one with the largest share of its people at
the demand row nearest that site.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from siting.locate.instance import BoolArray, FloatArray, IntArray
from siting.locate.minmax_search import RegionFloors, search_minmax

#: most sites of a region after merging groups' regions: each floor is a search over them
MAX_REGION_SITES = 14


def region_bound(
    minutes: FloatArray, weights: sp.csr_matrix, required: BoolArray, free: BoolArray, n_free: int
) -> float:
    """The bound of the module notes.

    `minutes` is dense, rows x sites (inf for absent pairs); `weights` groups x rows, each
    group's row summing to 1 (a group's cost is its mean); `n_free` sites are chosen among
    `free` besides the `required` ones.
    """
    return bound_from_floors(region_floors(minutes, weights, required, free, n_free), n_free)


def bound_from_floors(regions: RegionFloors, n_free: int) -> float:
    """The least level whose regions' needs fit in `n_free` sites."""
    levels = np.unique(regions.floors)
    for level in levels[np.isfinite(levels)]:
        if int(regions.needed(float(np.nextafter(level, math.inf))).sum()) <= n_free:
            return float(level)
    return math.inf


def region_floors(
    minutes: FloatArray, weights: sp.csr_matrix, required: BoolArray, free: BoolArray, n_free: int
) -> RegionFloors:
    """Regions of the free sites (each group's, merged where groups lean on each other's
    sites) and, per region, the least worst mean of its groups with u of its sites and
    every other allowed site open, for u = 0..n_free."""
    scaled = sp.csr_matrix(weights)
    home = _merged(minutes, scaled, required, free, _regions(minutes, scaled, free))
    n_regions = int(home.max()) + 1 if (home >= 0).any() else 0
    floors = np.full((n_regions, n_free + 1), np.inf)
    for region in range(n_regions):
        floors[region] = _floors(minutes, scaled, home, region, required | free, n_free)
    return RegionFloors(home, floors)


def _regions(minutes: FloatArray, weights: sp.csr_matrix, free: BoolArray) -> IntArray:
    """Per site, the group with the largest share at the row nearest it (-1 if not free)."""
    counted = np.asarray(weights.sum(axis=0)).ravel() > 0
    nearest_row = np.argmin(np.where(counted[:, None], minutes, np.inf), axis=0)
    home = np.asarray(weights[:, nearest_row].argmax(axis=0)).ravel()
    region: IntArray = np.where(free, home, -1)
    return region


def _merged(
    minutes: FloatArray, weights: sp.csr_matrix, required: BoolArray, free: BoolArray,
    home: IntArray,
) -> IntArray:  # fmt: skip
    """Groups' regions merged, most leaning pair first, while a region keeps at most
    `MAX_REGION_SITES` sites; renumbered 0.. over the regions holding sites.

    Group k leans on region l by how much its mean with every site open rises when l's
    sites close: a floor that opens l's sites for k is weak, so k and l go together.
    """
    n_groups = weights.shape[0]
    every = np.asarray(weights @ minutes[:, required | free].min(axis=1)).ravel()
    lean = np.zeros((n_groups, n_groups))
    for group in range(n_groups):
        without = minutes[:, (required | free) & (home != group)].min(axis=1, initial=np.inf)
        with np.errstate(invalid="ignore"):
            lean[:, group] = np.asarray(weights @ without).ravel() - every
    lean = np.nan_to_num(np.maximum(lean, lean.T), nan=np.inf, posinf=np.inf)
    root = np.arange(n_groups)
    sizes = np.bincount(home[home >= 0], minlength=n_groups)
    for flat in np.argsort(-lean, axis=None, kind="stable"):
        first, second = divmod(int(flat), n_groups)
        a, b = _find(root, first), _find(root, second)
        if a != b and lean[first, second] > 0 and sizes[a] + sizes[b] <= MAX_REGION_SITES:
            root[b], sizes[a] = a, sizes[a] + sizes[b]
    labels = np.array([_find(root, group) for group in range(n_groups)])
    merged = np.where(home >= 0, labels[np.maximum(home, 0)], -1)
    used, renumbered = np.unique(merged[merged >= 0], return_inverse=True)
    result: IntArray = np.full(home.size, -1)
    result[merged >= 0] = renumbered
    del used
    return result


def _find(root: IntArray, item: int) -> int:
    while root[item] != item:
        item = int(root[item])
    return item


def _floors(
    minutes: FloatArray, weights: sp.csr_matrix, home: IntArray, region: int, allowed: BoolArray,
    n_free: int,
) -> FloatArray:  # fmt: skip
    """h(u) for u = 0..n_free of one region: the least worst mean of the groups with rows
    nearest its sites, with u of its sites and every other allowed site open (found by the
    search over its sites' sets); inf while a row is not reached."""
    own = np.flatnonzero(home == region)
    others = allowed & (home != region)
    groups = _groups_of(minutes, weights, own)
    rows = np.flatnonzero(np.asarray(weights[groups].sum(axis=0)).ravel() > 0)
    part = minutes[rows]
    scaled = weights[groups][:, rows]
    floors = np.full(n_free + 1, np.inf)
    for count in range(n_free + 1):
        if count > own.size:
            floors[count] = floors[count - 1]
            continue
        found = search_minmax(part, scaled, others, own, count)
        floors[count] = found.value
    return floors


def _groups_of(minutes: FloatArray, weights: sp.csr_matrix, sites: IntArray) -> IntArray:
    """The groups whose site region is among `sites`' (the home group of each site)."""
    counted = np.asarray(weights.sum(axis=0)).ravel() > 0
    nearest_row = np.argmin(np.where(counted[:, None], minutes[:, sites], np.inf), axis=0)
    groups: IntArray = np.unique(np.asarray(weights[:, nearest_row].argmax(axis=0)).ravel())
    return groups


def _mean(share: FloatArray, minutes: FloatArray) -> float:
    """The group's mean (inf when a row of it is unreached)."""
    if not np.isfinite(minutes).all():
        return math.inf
    return float(share @ minutes)
