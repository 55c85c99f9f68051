"""Run `forget_person` and SIGKILL the process at one named step (the test then repairs and checks).

Usage: python tests/forget_killer.py EMAIL POINT (settings from LEADGATE_*). Nothing in leadgate knows
about this: the driver wraps the functions forget calls and kills itself, for real, at POINT.
"""

from __future__ import annotations

import os
import signal
import sys

from leadgate.config import LeadgateSettings
from leadgate.store import erasure_journal, forget

POINTS = (
    "in_transaction",
    "after_commit",
    "rewrite_copied",
    "rewrite_swapped",
    "before_publish",
    "publish_copied",
    "published",
)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def arm(point: str) -> None:
    if point == "in_transaction":  # rows deleted, read copy dropped, not committed
        real_drop = forget.drop_read_copy
        forget.drop_read_copy = lambda settings: (real_drop(settings), die())
    elif point == "after_commit":  # committed; file and read copy not rewritten yet
        forget.finish_locked = lambda *a, **k: die()
    elif point == "before_publish":  # file rewritten and journalled; read copy not published
        erasure_journal.publish_clean_copy = lambda *a, **k: die()
    else:
        real_replace = os.replace
        suffix = ".rewrite" if point.startswith("rewrite") else ".tmp"
        before = point in ("rewrite_copied", "publish_copied")

        def replace(src, dst):
            if str(src).endswith(suffix) and before:
                die()
            real_replace(src, dst)
            if str(src).endswith(suffix):
                die()

        os.replace = replace


if __name__ == "__main__":
    email, point = sys.argv[1], sys.argv[2]
    assert point in POINTS, point
    arm(point)
    forget.forget_person(LeadgateSettings(), email)
    print("forget finished without being killed", flush=True)
    sys.exit(3)
