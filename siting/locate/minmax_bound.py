"""A lower bound on the worst group mean from how many sites each group's own region needs.

The LP bound of the min-max over groups is weak (Dalarna's 15 municipalities, p = 10: about
10 minutes) and so is the Lagrangian bound over blends of the groups (about 15), where the
best plan found has 23.5. Counting sites bounds it better (18.9): every site is given to
one group (its "region"); a group's mean with u sites of its region open and every other
site open is a floor for any plan with u of its region's sites, and the regions' counts sum
to at most p, so no plan beats the least value over such counts of the worst floor.

Notes
-----
With regions :math:`A_k` partitioning the free sites, :math:`O_k` every allowed site
outside :math:`A_k` (required ones among them) and

.. math:: h_k(u) = \\min_{T \\subseteq A_k, |T| \\le u} M_k(T \\cup O_k),

every plan :math:`S` has :math:`M_k(S) \\ge h_k(|S \\cap A_k|)` (a mean only falls as sites
open), so :math:`\\max_k M_k(S) \\ge \\min \\{\\tau : \\sum_k n_k(\\tau) \\le p - |R|\\}` with
:math:`n_k(\\tau)` the least u with :math:`h_k(u) \\le \\tau` and R the required sites.
:math:`h_k(u)` is found by enumerating subsets of :math:`A_k` while there are at most
`MAX_SUBSETS` of them, else bounded by :math:`M_k(A_k \\cup O_k)` (every site open), still a
floor. A site's region is the group with the largest share of its people at the demand
row nearest that site.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import scipy.sparse as sp

from siting.locate.instance import BoolArray, FloatArray, IntArray

#: most subsets of one region enumerated per count of sites
MAX_SUBSETS = 20_000


def region_bound(
    minutes: FloatArray, weights: sp.csr_matrix, required: BoolArray, free: BoolArray, n_free: int
) -> float:
    """The bound of the module notes.

    `minutes` is dense, rows x sites (inf for absent pairs); `weights` groups x rows, each
    group's row summing to 1 (a group's cost is its mean); `n_free` sites are chosen among
    `free` besides the `required` ones.
    """
    scaled = sp.csr_matrix(weights)
    home = _regions(minutes, scaled, free)
    floors = [_floors(minutes, scaled[k], home == k, required | (free & (home != k)), n_free)
              for k in range(scaled.shape[0])]  # fmt: skip
    levels = np.unique(np.concatenate(floors))
    for level in levels[np.isfinite(levels)]:
        needed = sum(int(np.argmax(floor <= level)) if (floor <= level).any() else n_free + 1
                     for floor in floors)  # fmt: skip
        if needed <= n_free:
            return float(level)
    return math.inf


def _regions(minutes: FloatArray, weights: sp.csr_matrix, free: BoolArray) -> IntArray:
    """Per site, the group with the largest share at the row nearest it (-1 if not free)."""
    counted = np.asarray(weights.sum(axis=0)).ravel() > 0
    nearest_row = np.argmin(np.where(counted[:, None], minutes, np.inf), axis=0)
    home = np.asarray(weights[:, nearest_row].argmax(axis=0)).ravel()
    region: IntArray = np.where(free, home, -1)
    return region


def _floors(
    minutes: FloatArray, weight: sp.csr_matrix, region: BoolArray, others: BoolArray, n_free: int
) -> FloatArray:
    """h(u) for u = 0..n_free of one group: its mean with u of its region's sites (the best
    of them) and every site of `others` open; inf while its rows are not all reached."""
    row_weight = np.asarray(weight.todense()).ravel()
    rows = np.flatnonzero(row_weight > 0)
    share = row_weight[rows]
    base = minutes[np.ix_(rows, np.flatnonzero(others))].min(axis=1, initial=np.inf)
    own = minutes[np.ix_(rows, np.flatnonzero(region))]
    floors = np.full(n_free + 1, np.inf)
    all_open = _mean(share, np.minimum(base, own.min(axis=1, initial=np.inf)))
    for count in range(n_free + 1):
        if count > own.shape[1]:
            floors[count] = floors[count - 1]
            continue
        if math.comb(own.shape[1], count) > MAX_SUBSETS:
            floors[count] = all_open  # too many subsets: every site open is still a floor
            continue
        best = min(
            _mean(share, np.minimum(base, own[:, list(subset)].min(axis=1, initial=np.inf)))
            for subset in itertools.combinations(range(own.shape[1]), count)
        )
        floors[count] = min(best, floors[count - 1]) if count else best
    return floors


def _mean(share: FloatArray, minutes: FloatArray) -> float:
    """The group's mean (inf when a row of it is unreached)."""
    if not np.isfinite(minutes).all():
        return math.inf
    return float(share @ minutes)
