"""The current assignment of window points to clusters, rebuilt from full and diff updates."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .wire import Update


def _last_of_each(ids: np.ndarray, clusters: np.ndarray) -> "tuple[np.ndarray, np.ndarray]":
    """``ids`` sorted and unique, each with the cluster of its last occurrence (a later entry
    for the same id wins, as when a producer re-sends a point id)."""
    order = np.argsort(ids, kind="stable")
    ids, clusters = ids[order], clusters[order]
    last = np.ones(len(ids), dtype=bool)
    last[:-1] = ids[1:] != ids[:-1]
    return ids[last], clusters[last]


class Window:
    """Point id -> cluster id (-1 = noise) of every point in the daemon's window, as of
    :attr:`model_version`, kept in two sorted numpy arrays.

    :meth:`apply` takes cluster updates in publication order: a full update replaces the
    state; a diff applies only on top of the update it names as its base (``base_version``),
    otherwise the window is out of sync (:attr:`in_sync` False) until the next full update or
    snapshot. Reading (:attr:`ids`, :attr:`clusters`, :meth:`cluster_of`, :meth:`to_pandas`)
    is allowed at any time and costs no copy.
    """

    def __init__(self) -> None:
        self._ids = np.empty(0, np.uint64)
        self._clusters = np.empty(0, np.int64)
        #: The model version the assignment reflects; None before the first full update.
        self.model_version: Optional[int] = None
        #: The latest update applied (cluster summaries, events).
        self.update: Optional[Update] = None
        #: Whether the state reflects :attr:`model_version` exactly (diffs can be applied).
        self.in_sync = False

    @property
    def ids(self) -> np.ndarray:
        """Point ids in the window, ascending (read-only)."""
        view = self._ids.view()
        view.flags.writeable = False
        return view

    @property
    def clusters(self) -> np.ndarray:
        """The cluster of each of :attr:`ids` (read-only)."""
        view = self._clusters.view()
        view.flags.writeable = False
        return view

    def __len__(self) -> int:
        return len(self._ids)

    def cluster_of(self, ids: Any, missing: int = -2) -> np.ndarray:
        """The clusters of ``ids``; ``missing`` for ids not in the window."""
        query = np.asarray(ids, dtype=np.uint64)
        positions = np.searchsorted(self._ids, query)
        found = positions < len(self._ids)
        found[found] = self._ids[positions[found]] == query[found]
        result = np.full(query.shape, missing, dtype=np.int64)
        result[found] = self._clusters[positions[found]]
        return result

    def invalidate(self) -> None:
        """Marks the state stale (a message was lost): diffs wait for a full update."""
        self.in_sync = False

    def apply(self, update: Update) -> bool:
        """Applies a cluster update; returns False when it could not be applied and the window
        needs a full update (a diff on another base, or no assignments in a newer update)."""
        if self.in_sync and self.model_version is not None and update.model_version <= self.model_version:
            return True
        assignments = update.assignments
        if assignments is None:
            self.in_sync = False
            self.update = update
            return False
        if assignments.mode == "full":
            self._ids, self._clusters = _last_of_each(assignments.ids, assignments.clusters)
        elif self.in_sync and assignments.base_version == self.model_version:
            self._apply_diff(assignments.removed, assignments.ids, assignments.clusters)
        else:
            self.in_sync = False
            return False
        self.model_version = update.model_version
        self.update = update
        self.in_sync = True
        return True

    def _apply_diff(self, removed: np.ndarray, ids: np.ndarray, clusters: np.ndarray) -> None:
        # Every step makes new arrays: views handed out earlier keep the old state.
        if len(removed):
            positions = np.searchsorted(self._ids, removed)
            hit = positions < len(self._ids)
            hit[hit] = self._ids[positions[hit]] == removed[hit]
            keep = np.ones(len(self._ids), dtype=bool)
            keep[positions[hit]] = False
            self._ids, self._clusters = self._ids[keep], self._clusters[keep]
        if len(ids):
            ids, clusters = _last_of_each(ids, clusters)
            positions = np.searchsorted(self._ids, ids)
            found = positions < len(self._ids)
            found[found] = self._ids[positions[found]] == ids[found]
            self._clusters = self._clusters.copy()
            self._clusters[positions[found]] = clusters[found]
            new = ~found
            self._ids = np.insert(self._ids, positions[new], ids[new])
            self._clusters = np.insert(self._clusters, positions[new], clusters[new])

    def to_pandas(self) -> Any:
        """The assignment as a pandas Series (index: point id, values: cluster id); needs pandas."""
        import pandas  # type: ignore[import-untyped]

        return pandas.Series(self._clusters, index=pandas.Index(self._ids, name="point"), name="cluster")
