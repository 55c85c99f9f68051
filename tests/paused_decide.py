"""A real `decide_step(rescore_all=True)`, held after it read the leads and before it writes anything.

Usage: python tests/paused_decide.py PAUSED_FLAG GO_FLAG (settings from LEADGATE_*). The scorer is the
real one; the driver only waits, between reading and writing, until GO_FLAG exists, so a test can run
`forget` exactly in the window a slow scoring pass leaves open.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from leadgate.config import LeadgateSettings
from leadgate.pipeline import steps
from leadgate.policy import load_policy
from leadgate.scoring.baseline import BaselineScorer


def main(paused: Path, go: Path) -> None:
    real_score = BaselineScorer.score

    def score_after_go(self, features, now):
        paused.touch()
        while not go.exists():
            time.sleep(0.05)
        return real_score(self, features, now)

    BaselineScorer.score = score_after_go
    settings = LeadgateSettings()
    report = steps.decide_step(settings, load_policy(settings.policy), "race-run", rescore_all=True)
    print("scored", report.scored, "routed", report.routed, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
