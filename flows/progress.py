"""A run's progress as one Prefect progress artifact (`leadgate-run-progress`) and as lines in the terminal.

The flow starts it; each task reports its own step through the module functions, so steps stay plain
functions and a task run outside a flow reports nothing. One run per process (the run lock), so one
active progress is enough.
"""

from __future__ import annotations

from prefect import get_run_logger
from prefect.artifacts import create_progress_artifact, update_progress_artifact

PROGRESS_KEY = "leadgate-run-progress"
# Rough shares of a run's time (README's benchmark: dbt and scoring dominate); in run order.
STEP_WEIGHTS = {"ingest": 15, "dbt": 30, "score": 40, "sync": 10, "publish": 5}

_active: RunProgress | None = None


class RunProgress:
    """Percent done = the steps before this one (skipped ones included) + the done share of this one."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.percent = 0.0
        self.artifact_id = create_progress_artifact(
            0.0, key=PROGRESS_KEY, description=f"leadgate run {run_id}: starting"
        )

    def step(self, name: str, fraction: float = 1.0, note: str | None = None) -> None:
        order = list(STEP_WEIGHTS)
        before = sum(STEP_WEIGHTS[s] for s in order[: order.index(name)])
        percent = round(min(100.0, before + STEP_WEIGHTS[name] * max(0.0, min(1.0, fraction))), 1)
        self.percent = max(self.percent, percent)
        text = f"{name}: {note}" if note else f"{name} done"
        update_progress_artifact(self.artifact_id, self.percent, description=f"leadgate run {self.run_id}: {text}")
        get_run_logger().info("progress %.0f%% (%s)", self.percent, text)


def start(run_id: str) -> RunProgress:
    global _active
    _active = RunProgress(run_id)
    return _active


def stop() -> None:
    global _active
    _active = None


def step_done(name: str, note: str | None = None) -> None:
    if _active is not None:
        _active.step(name, 1.0, note)


def scoring_batch(done: int, total: int) -> None:
    """decide_step's callback: `done` of `total` leads scored, gated and routed."""
    if _active is not None:
        _active.step("score", done / total if total else 1.0, f"{done}/{total} leads scored")
