"""LightGBM's trees as plain arrays: every lead's leaves, and its log-odds with one or a few columns changed.

The range rule asks a tree model for a lead's log-odds with an unknown field set to each of its
recorded values. Re-running LightGBM for every value re-walks every tree for every lead. Here a tree
that never splits on the changed columns keeps the lead's own leaf; a tree that does is walked once
for all the values together: at a split on a changed column the decision depends on the value only,
at any other split on the lead only. The leaf values are then added in tree order starting from 0,
as LightGBM adds them, so the log-odds are the ones `Booster.predict(raw_score=True)` returns, to the
bit (tests/model/test_trees.py compares both). Split decisions follow LightGBM's rules: numeric
`<=` with its missing types (None: NaN reads as 0; Zero, NaN: the default side), categorical `==`
on the truncated value (NaN and negatives go right).

Each lead's own leaf in every tree is found the QuickScorer way (Lucchese et al., SIGIR 2015), with
no walk at all: a tree's leaves, left to right, are the bits of a word; a split that sends a lead
right clears the bits of its left subtree's leaves, and the lead's leaf is the lowest bit left after
clearing for every split that sends it right (whether on its path or not). Which splits on a feature
send a value right depends only on the value's place among that feature's thresholds (or on its
category), so each feature is a table (place x trees) of words already ANDed together: a lead's
leaves are one table row per feature, ANDed, then each word's lowest bit.
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


def _in_order(node, order: list, splits: list) -> tuple[int, int]:
    """The leaves left to right into `order`; per split, (split, lo, mid): its left subtree holds leaves lo..mid-1."""
    if not isinstance(node, _Split):
        order.append(node)
        return len(order) - 1, len(order)
    lo, mid = _in_order(node.left, order, splits)
    _, hi = _in_order(node.right, order, splits)
    splits.append((node, lo, mid))
    return lo, hi


class _Places:
    """One feature's splits as a table: row = the place of a value (among thresholds, or its category), column = tree."""

    __slots__ = ("categories", "column", "edges", "table", "zero")

    def __init__(self, column: int, splits: list, trees: int, word: type) -> None:
        """`splits`: (tree, split, mask) per split on `column`; `mask` clears the split's left subtree's leaves."""
        self.column = column
        nodes = [s for _, s, _ in splits]
        if nodes[0].lookup is not None:  # categorical: place 0 for NaN or negative, c + 1 for code c
            self.categories = max(len(s.lookup) for s in nodes)  # the last code stands for any code beyond
            self.edges = self.zero = None
            values = _Column(np.array([np.nan, *range(self.categories)], dtype=float))
            places = np.arange(self.categories + 1)
            right = np.array([~s.goes_left(values, places) for s in nodes])
        else:
            # numeric: place k for a value above exactly k distinct thresholds; the same places again for
            # values that read as zero (the Zero missing type sends them the default way); the last: NaN
            self.categories = None
            threshold = np.array([s.threshold for s in nodes])
            self.edges = np.unique(threshold)
            m = len(self.edges)
            above = np.searchsorted(self.edges, threshold)[:, None] < np.arange(m + 1)[None, :]  # v > threshold
            missing = np.array([s.missing for s in nodes])
            default_right = ~np.array([s.default_left for s in nodes])[:, None]
            self.zero = bool((missing == "Zero").any())
            zero = np.where((missing == "Zero")[:, None], default_right, above)
            # NaN: the default way, but under the None missing type it reads as 0
            nan = np.where((missing == "None")[:, None], (threshold < 0.0)[:, None], default_right)
            right = np.hstack([above, zero, nan])
        self.table = np.full((right.shape[1], trees), np.iinfo(word).max, dtype=word)
        for (tree, _, mask), goes_right in zip(splits, right):
            self.table[goes_right, tree] &= mask

    def places(self, v: np.ndarray) -> np.ndarray:
        if self.categories is not None:  # as _Column.code: truncated, NaN and negatives -1, beyond: the last code
            code = np.clip(np.where(np.isnan(v), -1.0, v), -1.0, self.categories - 1)
            return code.astype(np.intp) + 1
        m = len(self.edges)
        at = np.searchsorted(self.edges, v, side="left")
        if self.zero:
            at[np.abs(v) <= ZERO] += m + 1
        at[np.isnan(v)] = 2 * m + 2
        return at


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
        self._tables = None

    BLOCK = 2048  # rows per pass of the leaf tables: the block's words stay in the cache

    @property
    def finds_leaves(self) -> bool:
        """Whether `leaves` can find them: a tree's leaves must fit in a 64-bit word."""
        return max((len(v) for v in self.values), default=1) <= 64

    def _leaf_tables(self):
        leaves = max((len(v) for v in self.values), default=1)
        if leaves > 64:
            raise ValueError(f"a tree has {leaves} leaves; leaves are found for trees of up to 64")
        word = next(w for w in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(w).bits >= leaves)
        bits, trees = np.iinfo(word).bits, len(self.roots)
        index = np.zeros((trees, bits), dtype=np.int32)  # per tree and bit: the leaf's index (pred_leaf's number)
        on: dict[int, list] = {}
        for t, root in enumerate(self.roots):
            order, splits = [], []
            _in_order(root, order, splits)
            index[t, : len(order)] = order
            for split, lo, mid in splits:
                mask = word(((1 << bits) - 1) ^ ((1 << mid) - (1 << lo)))
                on.setdefault(split.feature, []).append((t, split, mask))
        features = [_Places(f, on[f], trees, word) for f in sorted(on)]
        if bits <= 16:  # lowest set bit of every word, looked up
            words = np.arange(1, 1 << bits)
            lowest = np.zeros(1 << bits, dtype=np.int32)
            lowest[1:] = np.log2(words & -words).astype(np.int32)
        else:
            lowest = None
        self._tables = (word, features, index.ravel(), np.arange(trees, dtype=np.int32) * bits, lowest)
        return self._tables

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """Each row's leaf in every tree (rows x trees, int32), as LightGBM's `pred_leaf` numbers them."""
        word, features, index, offsets, lowest = self._tables or self._leaf_tables()
        trees = len(self.roots)
        out = np.empty((len(x), trees), dtype=np.int32)
        words = np.empty((min(len(x), self.BLOCK), trees), dtype=word)
        row = np.empty_like(words)
        for start in range(0, len(x), self.BLOCK):
            block = x[start : start + self.BLOCK]
            w, r = words[: len(block)], row[: len(block)]
            w.fill(np.iinfo(word).max)
            for f in features:
                np.take(f.table, f.places(block[:, f.column]), axis=0, out=r)
                np.bitwise_and(w, r, out=w)
            if lowest is not None:
                bit = lowest[w]
            else:  # isolate the lowest bit; a power of two is exact as a float
                bit = np.frexp((w & (~w + word(1))).astype(float))[1].astype(np.int32) - 1
            bit += offsets
            np.take(index, bit, out=out[start : start + len(block)])
        return out

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
