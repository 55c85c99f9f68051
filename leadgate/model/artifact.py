"""A trained model as data files (JSON + LightGBM's text format, never pickle), checked by SHA-256 on load."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy import sparse

from leadgate.model import encoding
from leadgate.model.encoding import linear_numeric
from leadgate.model.estimators import calibrate
from leadgate.model.trees import LEAF, Forest
from leadgate.shared import compute

MODEL_FILE, TREES_FILE, HELDOUT_FILE = "model.json", "trees.txt", "heldout.json"
# TreeSHAP (pred_contrib) costs about 0.1-0.5 ms per lead; bigger batches use the path attribution
SHAP_MAX_ROWS = 5_000
CREDIT_ROWS = 8_192  # leads per sparse product in the path credits: a chunk's pick matrix is a few MB


class ModelFileError(RuntimeError):
    """A model file is missing or is not the file the registry recorded (altered on disk)."""


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class LeadModel:
    """predict / contributions over feature frames; holds only plain data (and a LightGBM text model)."""

    def __init__(self, doc: dict, booster: lgb.Booster | None = None) -> None:
        self.doc = doc
        self.spec = doc["spec"]
        self.family = doc["family"]
        self.booster = booster
        self.names = encoding.feature_names(self.spec)
        self._paths = self._forest = None

    def raw(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated log-odds."""
        if self.family == "lightgbm":
            x = encoding.tree_matrix(frame, self.spec)
            return compute.by_rows(lambda rows: self.booster.predict(rows, raw_score=True, num_threads=1), x)
        contrib, base = self.contributions(frame)
        return base + contrib.sum(axis=1)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of converting."""
        return calibrate(self.doc["calibration"], self.raw(frame))

    def design(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """One column per feature (`names`): its encoded value (trees) or its log-odds contribution (linear, with the base)."""
        if self.family == "lightgbm":
            return encoding.tree_matrix(frame, self.spec), None
        return self._linear(frame)

    @property
    def forest(self) -> Forest:
        """The trees as arrays (leadgate/model/trees.py), read from the booster once."""
        if self._forest is None:
            self._forest = Forest(self.booster.dump_model())
        return self._forest

    def leaves(self, x: np.ndarray) -> np.ndarray:
        """Each row's leaf in every tree (rows x trees, LightGBM's `pred_leaf` numbers) of a `design` matrix.

        Found from the forest's leaf tables (leadgate/model/trees.py; LightGBM's own predict for trees of
        over 64 leaves). A big batch's rows go over the cores. Bytes from the tables, LightGBM's own int32 otherwise.
        """
        if self.forest.finds_leaves:
            return compute.into_rows(self.forest.leaves, x, np.empty((len(x), len(self.forest.values)), dtype=LEAF))
        return compute.by_rows(lambda rows: self.booster.predict(rows, pred_leaf=True, num_threads=1), x)

    def raw_with(self, x: np.ndarray, leaves: np.ndarray, columns: list[int], values: np.ndarray) -> np.ndarray:
        """Log-odds (rows x candidates) of `design` rows `x` with `columns` set to each row of `values` (trees).

        `leaves`: the rows' own (`leaves(x)`). From the forest's tables; LightGBM itself for trees of over 64 leaves.
        """
        if self.forest.finds_leaves:
            return self.forest.raw_with(x, leaves, columns, values)
        out = np.empty((len(x), len(values)))
        for j, value in enumerate(np.asarray(values, dtype=float)):
            changed = x.copy()
            changed[:, columns] = value
            out[:, j] = self.booster.predict(changed, raw_score=True, num_threads=1)
        return out

    def contributions(self, frame: pd.DataFrame, design=None, leaves=None) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature log-odds contributions (n x features) and the base log-odds, summing to `raw` exactly.

        Linear: coef * (x - training mean) per column, summed per feature (a category: its coefficient
        minus the block's average). Trees: TreeSHAP (pred_contrib), or the path attribution for big batches
        (from `leaves`, the design's `leaves`, when the caller has them).
        """
        x, base = self.design(frame) if design is None else design
        if self.family != "lightgbm":
            return x, base
        if len(x) <= SHAP_MAX_ROWS:
            out = self.booster.predict(x, pred_contrib=True, num_threads=1)
            return out[:, :-1], out[:, -1]
        return self._path_contributions(x, leaves)

    def _linear(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        lin = self.doc["linear"]
        coef, mean = np.asarray(lin["coef"]), np.asarray(lin["column_mean"])
        groups = np.asarray(encoding.linear_groups(self.spec), dtype=int)
        n_num = len(self.spec["numeric"])
        num_cols = int(np.sum(groups < n_num))
        contrib = np.zeros((len(frame), len(self.names)))
        if num_cols:
            scaled = (linear_numeric(frame, self.spec) - mean[:num_cols]) * coef[:num_cols]
            # a number's column and its missing indicator's added up: plain adds, not a BLAS product with a 0/1
            # matrix, whose OpenBLAS threads would then spin on the other core while the scorer needs it
            for column, feature in enumerate(groups[:num_cols].tolist()):
                contrib[:, feature] += scaled[:, column]
        codes = encoding.category_codes(frame, self.spec)
        offset = num_cols
        for j, s in enumerate(self.spec["categorical"]):
            block = slice(offset, offset + len(s["values"]))
            contrib[:, n_num + j] = coef[block][codes[:, j]] - float(coef[block] @ mean[block])
            offset += len(s["values"])
        return contrib, np.full(len(frame), lin["intercept"] + float(mean @ coef))

    def _path_contributions(self, x: np.ndarray, leaves=None) -> tuple[np.ndarray, np.ndarray]:
        """Per-tree path attribution: each split credits its feature with the change of the node value it causes.

        It adds up to the log-odds exactly, like TreeSHAP, at the cost of one leaf look-up per tree.
        """
        if self._paths is None:
            tables, base = _leaf_paths(self.booster.dump_model(), len(self.names))
            offsets = np.cumsum([0] + [len(t) for t in tables[:-1]])
            self._paths = (np.vstack(tables), offsets, base)
        table, offsets, base = self._paths
        leaves = self.leaves(x) if leaves is None else leaves

        def credits(rows: np.ndarray, out: np.ndarray) -> None:
            # one sparse row per lead picking its leaf in every tree: the product sums the trees' credits in
            # tree order, as adding the tables one by one would, in one pass; a chunk of leads at a time, so
            # the pick matrix stays small (its memory reused, not freshly mapped, chunk after chunk)
            trees = rows.shape[1]
            # 32-bit positions while they fit (scipy would copy 64-bit ones down, after checking them)
            index = np.int32 if max(CREDIT_ROWS * trees, len(table)) < 2**31 - 1 else np.int64
            ones, starts = np.ones(CREDIT_ROWS * trees), np.arange(0, (CREDIT_ROWS + 1) * trees, trees, dtype=index)
            at = offsets.astype(index)
            for start in range(0, len(rows), CREDIT_ROWS):
                chunk = rows[start : start + CREDIT_ROWS]
                n = len(chunk)
                pick = sparse.csr_matrix(
                    (ones[: n * trees], (chunk + at).ravel(), starts[: n + 1]), shape=(n, len(table)), copy=False
                )
                out[start : start + n] = pick @ table

        return compute.into_rows(credits, leaves, np.empty((len(leaves), table.shape[1]))), np.full(len(leaves), base)

    def probability_points(self, frame: pd.DataFrame, design=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probability, base probability, per-feature probability contributions summing to p - base).

        Log-odds contributions are scaled by the secant of the calibrated curve between the base and the
        lead's log-odds, so they keep their sign and order and add up to the probability's move.
        """
        return self.points_from(*self.contributions(frame, design))

    def points_from(self, contrib: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """probability_points from contributions already computed."""
        z = base + contrib.sum(axis=1)
        cal = self.doc["calibration"]
        p, p0 = calibrate(cal, z), calibrate(cal, base)
        dz = z - base
        near = np.abs(dz) < 1e-6
        slope = np.where(
            near, (calibrate(cal, z + 1e-3) - calibrate(cal, z - 1e-3)) / 2e-3, (p - p0) / np.where(near, 1.0, dz)
        )
        return p, p0, contrib * slope[:, None]


def _leaf_paths(dump: dict, n_features: int) -> tuple[list[np.ndarray], float]:
    """For each tree, a (leaves x features) table of path credits, and the sum of the trees' root values."""
    tables, base = [], 0.0
    for tree in dump["tree_info"]:
        table = np.zeros((max(1, tree["num_leaves"]), n_features))
        root = tree["tree_structure"]
        root_value = root.get("internal_value", root.get("leaf_value", 0.0))
        base += root_value
        stack = [(root, root_value, np.zeros(n_features))]
        while stack:
            node, value, credit = stack.pop()
            if "leaf_index" in node or "split_feature" not in node:
                table[node.get("leaf_index", 0)] = credit
                continue
            for side in ("left_child", "right_child"):
                child = node[side]
                child_value = child.get("internal_value", child.get("leaf_value", 0.0))
                step = credit.copy()
                step[node["split_feature"]] += child_value - value
                stack.append((child, child_value, step))
        tables.append(table)
    return tables, base


def save_model(model_dir: Path, doc: dict, booster: lgb.Booster | None, heldout: dict) -> dict[str, str]:
    """Write the files; returns {file name: sha256} for the registry."""
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / MODEL_FILE).write_text(json.dumps(doc, sort_keys=True), encoding="utf-8")
    (model_dir / HELDOUT_FILE).write_text(json.dumps(heldout), encoding="utf-8")
    if booster is not None:
        (model_dir / TREES_FILE).write_text(booster.model_to_string(), encoding="utf-8")
    return {
        name: sha256(model_dir / name) for name in (MODEL_FILE, HELDOUT_FILE, TREES_FILE) if (model_dir / name).exists()
    }


def _checked(model_dir: Path, files: dict[str, str], name: str, version: str) -> str:
    path = model_dir / name
    if not path.is_file():
        raise ModelFileError(f"model {version}: file {path} is missing; the model cannot be used")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != files[name]:
        raise ModelFileError(
            f"model {version}: {path} does not match the checksum recorded when it was trained (altered on disk?); "
            "refusing to load it"
        )
    return data.decode("utf-8")


def load_model(model_dir: Path, files: dict[str, str], version: str) -> LeadModel:
    """Load and verify every file of a version; a changed or missing file is refused."""
    model_dir = Path(model_dir)
    doc = json.loads(_checked(model_dir, files, MODEL_FILE, version))
    booster = None
    if doc["family"] == "lightgbm":
        booster = lgb.Booster(model_str=_checked(model_dir, files, TREES_FILE, version))
    return LeadModel(doc, booster)


def load_heldout(model_dir: Path, files: dict[str, str], version: str) -> dict:
    return json.loads(_checked(Path(model_dir), files, HELDOUT_FILE, version))
