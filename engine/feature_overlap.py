# SPDX-License-Identifier: MIT
"""Overlapping area and KL divergence between two sets' feature distances (Yang and Lerch).

Yang and Lerch ("On the evaluation of generative models in music", 2020) compare a generated
set with a real one feature by feature, without assuming the feature's distribution:

1. each phrase gives a feature vector (for one track: a normalised histogram, or a value);
2. the **intra-set** distances are the Euclidean distances between every two distinct phrases
   of the real set; the **inter-set** distances are those between every real phrase and every
   generated one;
3. each set of distances is smoothed into a probability density by a Gaussian kernel density
   estimate (bandwidth by Scott's rule, ``std * n ** (-1 / 5)``);
4. **OA**, the overlapping area ``integral min(p_intra, p_inter)``, is 1 when generated phrases
   lie among the real ones as the real ones lie among themselves, and 0 when they are
   elsewhere; **KL** is ``integral p_intra log(p_intra / p_inter)`` (0: the same).

Comparing two halves of the real set (intra-set distances within the first half, inter-set
distances from it to the second half) gives the ceiling a model can reach with this many
phrases.

Densities are evaluated on a grid of :data:`GRID` points from 0 to the largest distance plus
four bandwidths, by binning the distances on the grid and smoothing with the sampled Gaussian
(exact up to the bin width); integrals are sums times the grid step. Phrases whose feature is
undefined (NaN, e.g. no note in the track) take no part. When more than :data:`MAX_DISTANCES`
distances exist, a seeded random sample of that many is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Grid points on which the densities are compared.
GRID = 1024
#: Distances used at most for one density (a seeded sample beyond it).
MAX_DISTANCES = 200_000
#: Bandwidth used when every distance is the same (a point mass).
_POINT_BANDWIDTH = 1e-3


@dataclass(frozen=True, slots=True)
class Overlap:
    """OA and KL of one feature (NaN when either set has too few defined phrases)."""

    oa: float
    kl: float


def _defined(values: FloatArray) -> FloatArray:
    """The rows (phrases) of ``(n, dim)`` whose feature has no NaN."""
    return values[~np.isnan(values).any(axis=1)]


def _distances(a: FloatArray, b: FloatArray | None, rng: np.random.Generator) -> FloatArray:
    """Euclidean distances between every row of ``a`` and every row of ``b`` (``b`` None:
    between every two distinct rows of ``a``), sampled down to :data:`MAX_DISTANCES`."""
    if b is None:
        i, j = np.triu_indices(len(a), k=1)
    else:
        i, j = (g.ravel() for g in np.meshgrid(np.arange(len(a)), np.arange(len(b)), indexing="ij"))
    if len(i) > MAX_DISTANCES:
        pick = rng.choice(len(i), size=MAX_DISTANCES, replace=False)
        i, j = i[pick], j[pick]
    other = a if b is None else b
    out: FloatArray = np.sqrt(((a[i] - other[j]) ** 2).sum(axis=1))
    return out


def _bandwidth(distances: FloatArray) -> float:
    std = float(distances.std())
    if std == 0.0:
        return _POINT_BANDWIDTH
    return std * float(len(distances) ** -0.2)


def _density(distances: FloatArray, grid: FloatArray) -> FloatArray:
    """A Gaussian KDE of ``distances`` on the evenly spaced ``grid``, integrating to 1 there."""
    step = float(grid[1] - grid[0])
    counts = np.histogram(
        distances, bins=len(grid), range=(grid[0] - step / 2, grid[-1] + step / 2)
    )[0]
    h = _bandwidth(distances)
    half = int(np.ceil(4 * h / step))
    offsets = np.arange(-half, half + 1) * step
    kernel = np.exp(-0.5 * (offsets / h) ** 2)
    # Centred on each grid point, whatever the kernel's width against the grid's.
    smooth = np.convolve(counts.astype(np.float64), kernel)[half : half + len(grid)]
    total = smooth.sum() * step
    out: FloatArray = smooth / total
    return out


def compare_densities(intra: FloatArray, inter: FloatArray) -> Overlap:
    """OA and KL between the densities of two sets of distances (see the module docstring)."""
    if len(intra) == 0 or len(inter) == 0:
        return Overlap(float("nan"), float("nan"))
    reach = max(float(intra.max()), float(inter.max())) + 4 * max(
        _bandwidth(intra), _bandwidth(inter)
    )
    grid = np.linspace(0.0, reach, GRID)
    step = float(grid[1] - grid[0])
    p, q = _density(intra, grid), _density(inter, grid)
    oa = float(np.minimum(p, q).sum() * step)
    where = p > 0
    kl = float((p[where] * np.log(p[where] / np.maximum(q[where], 1e-12))).sum() * step)
    return Overlap(min(oa, 1.0), max(kl, 0.0))


def overlap(real: FloatArray, other: FloatArray, seed: int = 0) -> Overlap:
    """OA and KL of ``other``'s phrases against ``real``'s, for one feature.

    Parameters
    ----------
    real, other : ndarray, shape=(n, dim) or (n,)
        One feature vector per phrase; rows with a NaN are left out.
    seed : int
        Seeds the sampling of distances (used only beyond :data:`MAX_DISTANCES`).
    """
    rng = np.random.default_rng(seed)
    a = _defined(np.asarray(real, np.float64).reshape(len(real), -1))
    b = _defined(np.asarray(other, np.float64).reshape(len(other), -1))
    if len(a) < 2 or len(b) < 1:
        return Overlap(float("nan"), float("nan"))
    return compare_densities(_distances(a, None, rng), _distances(a, b, rng))


def split_halves(n: int, seed: int = 0) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Two disjoint random halves of ``range(n)`` (sorted), for the real-vs-real ceiling."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n // 2]), np.sort(order[n // 2 :])
