"""LightGBM's trees as plain arrays: every lead's leaves, and its log-odds with one or a few columns changed.

Leaves are found the QuickScorer way (Lucchese et al., SIGIR 2015), with no walk at all: a tree's
leaves, left to right, are the bits of a word; a split that sends a lead right clears the bits of
its left subtree's leaves, and the lead's leaf is the lowest bit left after clearing for every split
that sends it right (on its path or not). Which splits on a feature send a value right depends only
on the value's place among that feature's thresholds (or on its category), so each feature is a
table (place x trees) of words already ANDed together: a lead's words are one table row per feature,
ANDed. Features with few places are joined into one table per group (the rows: every combination of
their places, the words ANDed in advance), so a lead takes one row per group instead of one per feature.

The range rule asks for a lead's log-odds with an unknown field set to each of its recorded values.
A tree that never splits on the changed columns keeps the lead's own leaf; in one that does, a
cell's word is the lead's word from every other column ANDed with the value's word from the changed
ones. The leaf values are added in tree order starting from 0, as LightGBM adds them, so the log-odds
are the ones `Booster.predict(raw_score=True)` returns, to the bit (tests/model/test_trees.py
compares both). Split decisions follow LightGBM's rules: numeric `<=` with its missing types (None:
NaN reads as 0; Zero, NaN: the default side), categorical `==` on the truncated value (NaN and
negatives go right). Trees of up to 64 leaves fit a word; for bigger ones the model asks LightGBM.
"""

from __future__ import annotations

import numpy as np

ZERO = 1e-35  # LightGBM's kZeroThreshold
LEAF = np.uint8  # a leaf's index, as the tables find it (64 leaves at most)
BLOCK = 2048  # rows per pass over the tables: a block's words stay in the cache
GROUP_PLACES = 512  # rows of a joined table at most (512 x 100 trees x 4 bytes: 200 kB, in the cache beside the block)


def _in_order(node: dict, order: list[int], splits: list) -> tuple[int, int]:
    """The leaves left to right into `order`; per split, (split, lo, mid): its left subtree holds leaves lo..mid-1."""
    if "split_feature" not in node:
        order.append(int(node.get("leaf_index", 0)))
        return len(order) - 1, len(order)
    lo, mid = _in_order(node["left_child"], order, splits)
    _, hi = _in_order(node["right_child"], order, splits)
    splits.append((node, lo, mid))
    return lo, hi


def _categories(node: dict) -> list[int]:
    return [int(c) for c in str(node["threshold"]).split("||")]


class _Places:
    """One feature's splits as a table: row = the place of a value (among thresholds, or its category), column = tree."""

    __slots__ = ("categories", "column", "edges", "table", "trees", "zero")

    def __init__(self, column: int, splits: list, trees: int, word: type) -> None:
        """`splits`: (tree, split, mask) per split on `column`; `mask` clears the split's left subtree's leaves."""
        self.column = column
        nodes = [node for _, node, _ in splits]
        self.trees = np.unique([tree for tree, _, _ in splits])
        if nodes[0]["decision_type"] == "==":
            # categorical: place 0 for NaN or a negative value (right at every split), c + 1 for code c; the
            # last code stands for any above it (in no split's set: right too)
            sets = [_categories(node) for node in nodes]
            self.categories = max(max(s) for s in sets) + 2
            self.edges, self.zero = None, False
            right = np.ones((len(nodes), self.categories + 1), dtype=bool)
            for i, s in enumerate(sets):
                right[i, np.asarray(s) + 1] = False
        else:
            # numeric: place k for a value above exactly k distinct thresholds (a split sends it right when it
            # is above the split's); the same places again for values that read as zero (the Zero missing type
            # sends them the default way); the last place: NaN
            self.categories = None
            threshold = np.array([float(node["threshold"]) for node in nodes])
            self.edges = np.unique(threshold)
            m = len(self.edges)
            above = np.searchsorted(self.edges, threshold)[:, None] < np.arange(m + 1)[None, :]
            missing = np.array([node.get("missing_type", "None") for node in nodes])
            default_right = ~np.array([bool(node.get("default_left", False)) for node in nodes])[:, None]
            self.zero = bool((missing == "Zero").any())
            zero = np.where((missing == "Zero")[:, None], default_right, above)
            # NaN: the default way, but under the None missing type it reads as 0
            nan = np.where((missing == "None")[:, None], (threshold < 0.0)[:, None], default_right)
            right = np.hstack([above, zero, nan])
        self.table = np.full((right.shape[1], trees), np.iinfo(word).max, dtype=word)
        for (tree, _, mask), goes_right in zip(splits, right):
            self.table[goes_right, tree] &= mask

    def places(self, v: np.ndarray) -> np.ndarray:
        if self.categories is not None:  # truncated as C truncates; NaN and negatives -1
            code = np.clip(np.where(np.isnan(v), -1.0, v), -1.0, self.categories - 1)
            return code.astype(np.intp) + 1
        m = len(self.edges)
        at = np.searchsorted(self.edges, v, side="left")
        if self.zero:
            at[np.abs(v) <= ZERO] += m + 1
        at[np.isnan(v)] = 2 * m + 2
        return at


class _Group:
    """Features joined into one table: a row per combination of their places, their words ANDed in advance."""

    __slots__ = ("columns", "members", "sizes", "table")

    def __init__(self, members: list[_Places]) -> None:
        self.members = members
        self.columns = [f.column for f in members]
        self.sizes = [len(f.table) for f in members]
        table = members[0].table
        for f in members[1:]:  # row p * len(f.table) + q: the words of place p so far and f's place q
            table = (table[:, None, :] & f.table[None, :, :]).reshape(-1, table.shape[1])
        self.table = table

    def places(self, x: np.ndarray, at: dict[int, int]) -> np.ndarray:
        out = self.members[0].places(x[:, at[self.columns[0]]])
        for f, size in zip(self.members[1:], self.sizes[1:]):
            out = out * size + f.places(x[:, at[f.column]])
        return out


def _groups(features: list[_Places]) -> list[_Group]:
    """Features packed into groups of at most GROUP_PLACES joint places, biggest first (first fit)."""
    groups: list[list[_Places]] = []
    for f in sorted(features, key=lambda f: (-len(f.table), f.column)):
        for g in groups:
            if np.prod([len(m.table) for m in g]) * len(f.table) <= GROUP_PLACES:
                g.append(f)
                break
        else:
            groups.append([f])
    return [_Group(g) for g in groups if len(g) > 1]


class Forest:
    """The trees of a binary LightGBM model (`Booster.dump_model()`): leaf values, and the splits as tables."""

    def __init__(self, dump: dict) -> None:
        if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("average_output"):
            raise ValueError("only a binary, summed LightGBM model can be read as a Forest")
        trees = dump["tree_info"]
        orders, on = [], []
        for tree in trees:
            order, splits = [], []
            _in_order(tree["tree_structure"], order, splits)
            orders.append(order)
            on.append(splits)
        self.values = []  # per tree, the leaf values by leaf index
        for tree, order in zip(trees, orders):
            values = np.zeros(len(order))
            stack = [tree["tree_structure"]]
            while stack:
                node = stack.pop()
                if "split_feature" in node:
                    stack += [node["left_child"], node["right_child"]]
                else:
                    values[int(node.get("leaf_index", 0))] = float(node.get("leaf_value", 0.0))
            self.values.append(values)
        widest = max((len(order) for order in orders), default=1)
        self.finds_leaves = widest <= 64
        if not self.finds_leaves:
            return
        word = self.word = next(w for w in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(w).bits >= widest)
        bits = np.iinfo(word).bits
        # per tree and bit: the leaf's index (pred_leaf's); under 64 leaves a byte holds it
        self.index = np.zeros((len(trees), bits), dtype=LEAF)
        self.bit_values = np.zeros((len(trees), bits))  # per tree and bit: the leaf's value
        by_feature: dict[int, list] = {}
        for t, (order, splits) in enumerate(zip(orders, on)):
            self.index[t, : len(order)] = order
            self.bit_values[t, : len(order)] = self.values[t][order]
            for node, lo, mid in splits:
                mask = word(((1 << bits) - 1) ^ ((1 << mid) - (1 << lo)))
                by_feature.setdefault(node["split_feature"], []).append((t, node, mask))
        self.features = [_Places(f, by_feature[f], len(trees), word) for f in sorted(by_feature)]
        self.groups = _groups(self.features)
        grouped = {c for g in self.groups for c in g.columns}
        self.alone = [f for f in self.features if f.column not in grouped]

    def _places(self, x: np.ndarray, columns=None, skip=frozenset()) -> list[tuple[np.ndarray, np.ndarray]]:
        """(table, every row's place in it) per feature of `x` not in `skip`: a column placed in one pass.

        `columns`: which feature each column of `x` holds (default: column j is feature j)."""
        at = {c: j for j, c in enumerate(range(x.shape[1]) if columns is None else columns)}
        out, single = [], list(self.alone)
        for g in self.groups:  # a group whose columns are all at hand and none skipped: its joined table
            if skip.isdisjoint(g.columns) and all(c in at for c in g.columns):
                out.append((g.table, g.places(x, at)))
            else:
                single += g.members
        return out + [
            (f.table, f.places(x[:, at[f.column]])) for f in single if f.column not in skip and f.column in at
        ]

    def _block_words(self, places: list, start: int, stop: int, out: np.ndarray, row: np.ndarray) -> np.ndarray:
        """Into `out`: per row start..stop-1 and tree, the ANDed words of its places (`row`: a buffer as big)."""
        out.fill(np.iinfo(self.word).max)
        for table, at in places:
            np.take(table, at[start:stop], axis=0, out=row)
            np.bitwise_and(out, row, out=out)
        return out

    def _words(self, x: np.ndarray, columns=None, skip=frozenset()) -> np.ndarray:
        """Per row of `x` and tree, the word of every split on a feature not in `skip` (`_places`' arguments).

        Rows go block by block, so a block's words stay in the cache."""
        places = self._places(x, columns, skip)
        out = np.empty((len(x), len(self.values)), dtype=self.word)
        row = np.empty((min(len(x), BLOCK), len(self.values)), dtype=self.word)
        for start in range(0, len(x), BLOCK):
            stop = min(start + BLOCK, len(x))
            self._block_words(places, start, stop, out[start:stop], row[: stop - start])
        return out

    def _bits(self, words: np.ndarray) -> np.ndarray:
        """Each word's lowest set bit (its leaf's place, left to right): the count of the ones below it."""
        return np.bitwise_count(~words & (words - self.word(1)))

    def leaves(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Each row's leaf in every tree (rows x trees, bytes), as LightGBM's `pred_leaf` numbers them (into `out`)."""
        if not self.finds_leaves:
            raise ValueError("a tree has over 64 leaves; ask LightGBM for them (Booster.predict(pred_leaf=True))")
        trees = len(self.values)
        out = np.empty((len(x), trees), dtype=LEAF) if out is None else out
        offsets = np.arange(trees, dtype=np.int32) * np.iinfo(self.word).bits
        index = self.index.ravel()
        places = self._places(x)
        words = np.empty((min(len(x), BLOCK), trees), dtype=self.word)
        row = np.empty_like(words)
        for start in range(0, len(x), BLOCK):  # block by block, each block's words found and read in the cache
            stop = min(start + BLOCK, len(x))
            w = self._block_words(places, start, stop, words[: stop - start], row[: stop - start])
            np.take(index, offsets + self._bits(w), out=out[start:stop])
        return out

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
        if not self.finds_leaves:
            raise ValueError("a tree has over 64 leaves; ask LightGBM (Booster.predict with the columns set)")
        changed = frozenset(columns)
        trees = len(self.values)
        touched = np.zeros(trees, dtype=bool)
        for f in self.features:
            if f.column in changed:
                touched[f.trees] = True
        kept = np.ascontiguousarray(self._words(x, skip=changed).T)  # trees x rows: every other column's splits
        cand = np.ascontiguousarray(self._words(np.asarray(values, dtype=float), columns).T)  # trees x candidates
        own = np.ascontiguousarray(leaves.T)
        out = np.zeros((len(values), len(x)))  # candidates x rows: a candidate's cells are contiguous
        cells = np.empty(out.shape, dtype=self.word)
        value = np.empty_like(out)
        for t in range(trees):
            if touched[t]:
                np.bitwise_and(cand[t][:, None], kept[t][None, :], out=cells)
                np.take(self.bit_values[t], self._bits(cells), out=value)
                out += value
            else:  # the tree never splits on the changed columns: every row keeps its own leaf
                out += self.values[t][own[t]]
        return out.T
