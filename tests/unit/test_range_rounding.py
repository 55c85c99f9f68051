"""The range details' numbers read as Python rounds them (`round(v, 2)`), though rounded in numpy."""

from __future__ import annotations

import numpy as np

from leadgate.routing.ranges import _round2


def test_rounding_matches_pythons_round_at_halves_and_beyond():
    rng = np.random.default_rng(7)
    x = np.concatenate(
        [
            rng.random(200_000),
            np.arange(0, 1, 0.005),  # on the halves, where x * 100 is tipped either way
            np.arange(0, 1, 0.005) + 1e-17,
            [0.285, 2.675, 1.005, 0.125, -0.125, -0.004, 1e7 + 0.125, np.inf, -np.inf],
            rng.normal(0, 1e4, 10_000),
        ]
    )
    want = np.array([round(v, 2) for v in x.tolist()])
    assert np.array_equal(_round2(x), want)
    assert np.isnan(_round2(np.array([np.nan]))).all()
