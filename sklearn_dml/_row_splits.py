"""Random splits of a fold's training rows that keep each group whole.

Two splits happen inside a fold: the early-stopping validation rows of every θ-network
and, in regime C, the halves on which the auxiliary networks train. Rows of one group
(a cluster passed as ``groups=``) on both sides of such a split would let a network be
judged, or Λ̂ be read, on rows whose cluster-mates it trained on.
"""

from __future__ import annotations

import numpy as np
import torch


def split_permuted(permuted_rows, n_first, groups=None):
    """Split rows already in random order into about ``n_first`` rows and the rest.

    Without groups the first ``n_first`` rows. With ``groups`` (an integer code per row of
    the data) whole groups, taken in the order in which their first row appears, until
    at least ``n_first`` rows are reached; where the rows hold a single group, the rows
    themselves are split.

    Returns
    -------
    first, rest : ndarray of int
    """
    if groups is None:
        return permuted_rows[:n_first], permuted_rows[n_first:]
    codes = groups[permuted_rows]
    distinct, first_seen, sizes = np.unique(codes, return_index=True, return_counts=True)
    if distinct.size < 2:
        return permuted_rows[:n_first], permuted_rows[n_first:]
    order = np.argsort(first_seen)
    reached = np.searchsorted(np.cumsum(sizes[order]), n_first)  # the group that reaches it
    taken = distinct[order[:min(reached + 1, distinct.size - 1)]]
    in_first = np.isin(codes, taken)
    return permuted_rows[in_first], permuted_rows[~in_first]


def split_validation(rows, gen, validation_fraction, groups=None):
    """A network's training and validation rows: a random ``validation_fraction`` of
    ``rows`` (at least one, whole groups where given) drawn with the torch generator
    ``gen``."""
    n_val = int(round(validation_fraction * rows.size))
    n_val = min(max(n_val, 1), rows.size - 1)
    perm = torch.randperm(rows.size, generator=gen).numpy()
    validation, train = split_permuted(rows[perm], n_val, groups)
    return train, validation
