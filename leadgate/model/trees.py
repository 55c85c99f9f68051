"""LightGBM's trees as plain arrays, for predicting many leads with one or a few columns changed.

The range rule asks a tree model for a lead's log-odds with an unknown field set to each of its
recorded values. Re-running LightGBM for every value re-walks every tree for every lead. Here a tree
that never splits on the changed columns keeps the lead's own leaf; a tree that does is walked once
for all the values together: at a split on a changed column the decision depends on the value only,
at any other split on the lead only. The leaf values are then added in tree order starting from 0,
as LightGBM adds them, so the log-odds are the ones `Booster.predict(raw_score=True)` returns, to the
bit (tests/model/test_trees.py compares both). Split decisions follow LightGBM's rules: numeric
`<=` with its missing types (None: NaN reads as 0; Zero, NaN: the default side), categorical `==`
on the truncated value (NaN and negatives go right).
"""

from __future__ import annotations

import numpy as np

ZERO = 1e-35  # LightGBM's kZeroThreshold


class _Column:
    """One feature's values, prepared once for every split on it: NaN mask, NaN read as 0, whole-number codes."""

    __slots__ = ("code", "nan", "value", "zero")

    def __init__(self, v: np.ndarray) -> None:
        self.nan = np.isnan(v)
        self.value = np.where(self.nan, 0.0, v)
        self.zero = np.abs(self.value) <= ZERO
        whole = np.trunc(self.value)
        bad = self.nan | (whole < 0) | (whole > 2**31 - 1)
        self.code = np.where(bad, -1, whole).astype(np.int64)  # -1: goes right at any categorical split


class _Split:
    __slots__ = ("default_left", "feature", "left", "lookup", "missing", "right", "threshold")

    def __init__(self, node: dict, left, right) -> None:
        self.feature, self.left, self.right = node["split_feature"], left, right
        self.missing, self.default_left = node.get("missing_type", "None"), bool(node.get("default_left", False))
        if node["decision_type"] == "==":
            categories = [int(c) for c in str(node["threshold"]).split("||")]
            self.lookup = np.zeros(max(categories) + 2, dtype=bool)  # the last slot: any other code (and -1)
            self.lookup[categories] = True
            self.threshold = None
        else:
            self.lookup, self.threshold = None, float(node["threshold"])

    def goes_left(self, c: _Column, at: np.ndarray) -> np.ndarray:
        """LightGBM's decision at this split for the values `c` holds at positions `at`."""
        if self.lookup is not None:
            return self.lookup[np.minimum(c.code[at], len(self.lookup) - 1)]
        if self.missing == "NaN":
            nan = c.nan[at]
            return np.where(nan, self.default_left, c.value[at] <= self.threshold)
        left = c.value[at] <= self.threshold  # missing type None: NaN reads as 0
        if self.missing == "Zero":
            return np.where(c.zero[at], self.default_left, left)
        return left


def _build(node: dict):
    if "split_feature" not in node:
        return int(node.get("leaf_index", 0))
    return _Split(node, _build(node["left_child"]), _build(node["right_child"]))


def _leaf_values(node: dict, values: dict[int, float]) -> None:
    if "split_feature" not in node:
        values[int(node.get("leaf_index", 0))] = float(node.get("leaf_value", 0.0))
        return
    _leaf_values(node["left_child"], values)
    _leaf_values(node["right_child"], values)


def _paths(node, above: tuple = (), out: dict | None = None) -> dict[int, tuple]:
    """Per leaf, the splits from the root down to it."""
    out = {} if out is None else out
    if not isinstance(node, _Split):
        out[node] = above
        return out
    _paths(node.left, (*above, node), out)
    _paths(node.right, (*above, node), out)
    return out


class Forest:
    """The trees of a binary LightGBM model (`Booster.dump_model()`): leaf values and splits."""

    def __init__(self, dump: dict) -> None:
        if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("average_output"):
            raise ValueError("only a binary, summed LightGBM model can be read as a Forest")
        self.roots, self.values, self.paths = [], [], []
        for tree in dump["tree_info"]:
            values: dict[int, float] = {}
            _leaf_values(tree["tree_structure"], values)
            self.values.append(np.array([values[i] for i in range(len(values))], dtype=float))
            root = _build(tree["tree_structure"])
            self.roots.append(root)
            paths = _paths(root)
            self.paths.append([paths[i] for i in range(len(values))])
        self._entries: dict[frozenset, list] = {}

    def _entry(self, changed: frozenset) -> list[tuple[list, np.ndarray]]:
        """Per tree, the splits on `changed` a path can first meet, and per leaf which one (-1: its path has none).

        A row whose own path meets no split on the changed columns reaches its own leaf whatever they hold;
        any other row's path is its own down to the first such split, and is walked from there.
        """
        if changed not in self._entries:
            out = []
            for paths in self.paths:
                firsts: list[_Split] = []
                first = np.full(len(paths), -1, dtype=np.int64)
                for leaf, path in enumerate(paths):
                    node = next((n for n in path if n.feature in changed), None)
                    if node is not None:
                        if not any(node is f for f in firsts):
                            firsts.append(node)
                        first[leaf] = next(i for i, f in enumerate(firsts) if f is node)
                out.append((firsts, first))
            self._entries[changed] = out
        return self._entries[changed]

    def raw(self, leaves: np.ndarray) -> np.ndarray:
        """Log-odds from each row's leaf in every tree (`pred_leaf`), summed in tree order as LightGBM does."""
        out = np.zeros(len(leaves))
        for t, values in enumerate(self.values):
            out += values[leaves[:, t]]
        return out

    def raw_with(self, x: np.ndarray, leaves: np.ndarray, columns: list[int], values: np.ndarray) -> np.ndarray:
        """Log-odds (rows x candidates) of the rows of `x` with `columns` set to each row of `values`.

        `leaves`: the rows' own leaves (`pred_leaf` of `x`), kept in every tree that never splits on `columns`.
        """
        rows, k = len(x), len(values)
        changed = dict(zip(columns, range(len(columns))))
        lead_cols: dict[int, _Column] = {}
        cand_cols = [_Column(np.asarray(values[:, i], dtype=float)) for i in range(len(columns))]
        every_cand = np.arange(k)
        out = np.zeros((k, rows))  # candidates x rows: a candidate's cells are contiguous
        cells = np.empty((k, rows))  # one tree's value per cell, added to `out` in tree order as LightGBM sums
        by_tree = np.ascontiguousarray(leaves.T)  # a tree's leaves for every row, contiguous
        for t, (firsts, first) in enumerate(self._entry(frozenset(changed))):
            own = by_tree[t]
            if not firsts:  # the tree never splits on the changed columns: every row keeps its own leaf
                out += self.values[t][own]
                continue
            entry = first[own]
            cells[:] = self.values[t][own]  # this tree's value per cell: the own leaf unless a changed split says else
            # the rows and candidates reaching each node below a first split, as positions; each cell gets one leaf value
            stack = [(node, np.flatnonzero(entry == i), every_cand) for i, node in enumerate(firsts)]
            while stack:
                node, lead, cand = stack.pop()
                if not len(lead):
                    continue
                if not isinstance(node, _Split):
                    if len(cand) == k:
                        cells[:, lead] = self.values[t][node]
                    else:
                        cells[np.ix_(cand, lead)] = self.values[t][node]
                    continue
                if node.feature in changed:
                    left = node.goes_left(cand_cols[changed[node.feature]], cand)
                    parts = ((node.left, lead, cand[left]), (node.right, lead, cand[~left]))
                else:
                    if node.feature not in lead_cols:
                        lead_cols[node.feature] = _Column(x[:, node.feature])
                    left = node.goes_left(lead_cols[node.feature], lead)
                    parts = ((node.left, lead[left], cand), (node.right, lead[~left], cand))
                stack.extend(p for p in parts if len(p[1]) and len(p[2]))
            out += cells
        return out.T
