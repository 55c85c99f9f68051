"""What a review action can refuse with; every message is one line a reviewer can act on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class ReviewError(ValueError):
    """A review action cannot be done as asked; the message says why in one line."""


class AlreadyDecided(ReviewError):
    """The item was decided before this decision arrived: by whom, how and when."""

    def __init__(self, item_id: int, status: str, reviewer: str | None, decided_at: datetime | None) -> None:
        self.item_id, self.status, self.reviewer, self.decided_at = item_id, status, reviewer, decided_at
        by = f" by {reviewer}" if reviewer else ""
        if isinstance(decided_at, datetime) and decided_at.tzinfo is not None:
            decided_at = decided_at.astimezone(UTC)
        when = f" at {decided_at:%Y-%m-%d %H:%M} UTC" if isinstance(decided_at, datetime) else ""
        super().__init__(f"review item {item_id} is already {status}{by}{when}: only a pending item can be decided")


class PromisesUnconfirmed(ReviewError):
    """A clarification draft still contains flagged promises the reviewer has neither confirmed nor removed."""

    def __init__(self, item_id: int, flags: list[Any]) -> None:
        self.item_id, self.flags = item_id, flags
        shown = "; ".join(f"#{f.index} {f.kinds_text()} ({f.hash}): {f.sentence[:60]!r}" for f in flags[:3])
        more = f" (+{len(flags) - 3} more)" if len(flags) > 3 else ""
        super().__init__(
            f"the clarification for review item {item_id} makes {len(flags)} promise(s) nobody confirmed: "
            f"{shown}{more}; confirm each (by its hash) or remove it"
        )


class ReopenRefused(ReviewError):
    """A decision that cannot be reopened (synced already, another reviewer's, or not decided)."""
