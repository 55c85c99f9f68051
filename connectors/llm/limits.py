"""Pacing for one run: requests per minute and a token budget (leads beyond it wait for the next run)."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    """Spaces request starts evenly so no minute sees more than `per_minute` of them."""

    def __init__(self, per_minute: int | None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if not self.interval:
            return
        async with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)


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
