"""A token budget for one run (leads beyond it wait for the next run); the request pace is
leadgate.shared.rate_limits.EvenPacer."""

from __future__ import annotations

import asyncio


class TokenBudget:
    """Tokens one run may spend; a request reserves its worst case and settles what it really used."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.spent = 0
        self.reserved = 0
        self._changed = asyncio.Condition()

    async def reserve(self, tokens: int) -> bool:
        """Reserve `tokens`, waiting for in-flight requests to settle; False when they can never fit."""
        if self.limit is None:
            return True
        async with self._changed:
            while self.spent + self.reserved + tokens > self.limit:
                if self.reserved == 0:
                    return False
                await self._changed.wait()
            self.reserved += tokens
            return True

    async def settle(self, reserved: int, used: int) -> None:
        self.spent += used
        if self.limit is None:
            return
        async with self._changed:
            self.reserved -= reserved
            self._changed.notify_all()
