"""Request-rate limits, one class per meaning: a cap per rolling window (a CRM portal's limit) and an
even pace per minute (an LLM endpoint's requests-per-minute)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable


class RollingWindowLimiter:
    """At most `max_requests` starts in any rolling `window_seconds` (0 or less: unlimited); bursts allowed.

    The window is stretched by `slack` (10 %): the server stamps a request when it arrives, a little
    after we start it, so a window measured exactly on our side would overrun theirs at the edges.
    """

    def __init__(
        self,
        max_requests: int,
        window_seconds: float,
        *,
        slack: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.max_requests = max_requests
        self.window = window_seconds * (1 + slack)
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited = 0.0

    def acquire(self) -> None:
        """Block until one more request fits in the window, then count it."""
        if self.max_requests <= 0:
            return
        with self._lock:
            while True:
                now = self._clock()
                while self._starts and now - self._starts[0] >= self.window:
                    self._starts.popleft()
                if len(self._starts) < self.max_requests:
                    self._starts.append(now)
                    return
                wait = self.window - (now - self._starts[0])
                self.waited += wait
                self._sleep(wait)


class EvenPacer:
    """Spaces request starts evenly so no minute sees more than `per_minute` of them (None: no pacing)."""

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
