"""Sessions, CSRF tokens and the sign-in rate limit of the browser queue.

A session is a signed, timed cookie naming the reviewer's id and a random session id; every request
checks that the reviewer still exists. The CSRF token of a session is an HMAC of its session id (before
sign-in: a random value in its own cookie, double-submitted in the form).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "leadgate_session"
SIGNIN_CSRF_COOKIE = "leadgate_signin_csrf"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE = 8 * 3600  # a working day; then sign in again
MAX_TRACKED = 50_000  # names and addresses with recent failed sign-ins kept in memory


@dataclass(frozen=True)
class Session:
    reviewer_id: int
    session_id: str


def load_secret(path: Path) -> str:
    """The signing key beside the database (created once, mode 0600), so restarts keep sessions."""
    try:
        value = path.read_text(encoding="ascii").strip()
        if len(value) >= 32:
            return value
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(value)
    os.replace(tmp, path)
    return value


class Sessions:
    """Issue and read session cookies; sign-out revokes the session id for the rest of its life."""

    def __init__(self, secret: str, max_age: int = SESSION_MAX_AGE) -> None:
        self._secret = secret.encode()
        self._signer = URLSafeTimedSerializer(secret, salt="leadgate-review-session")
        self.max_age = max_age
        self._revoked: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, reviewer_id: int) -> str:
        return self._signer.dumps({"r": int(reviewer_id), "s": secrets.token_urlsafe(18)})

    def read(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._signer.loads(cookie, max_age=self.max_age)
            session = Session(int(data["r"]), str(data["s"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None
        with self._lock:
            return None if session.session_id in self._revoked else session

    def revoke(self, session: Session) -> None:
        now = time.time()
        with self._lock:
            self._revoked = {sid: t for sid, t in self._revoked.items() if t > now}
            self._revoked[session.session_id] = now + self.max_age

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._secret, b"csrf:" + session.session_id.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), str(token))


def signin_csrf_ok(cookie: str | None, token: str | None) -> bool:
    return bool(cookie) and bool(token) and hmac.compare_digest(str(cookie), str(token))


class SignInLimiter:
    """Failed sign-ins per name and per address within a window; over the limit: wait."""

    def __init__(
        self,
        per_name: int = 5,
        per_address: int = 20,
        window: float = 900.0,
        clock=time.monotonic,
        max_tracked: int = MAX_TRACKED,
    ) -> None:
        self.per_name, self.per_address, self.window, self.max_tracked = per_name, per_address, window, max_tracked
        self._clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        found = self._failures.get(key) or deque()
        while found and found[0] <= now - self.window:
            found.popleft()
        return found

    def _add(self, key: tuple[str, str], now: float) -> None:
        if len(self._failures) >= self.max_tracked:  # a flood of made-up names must not grow memory without bound
            self._failures = {k: v for k, v in self._failures.items() if v and v[-1] > now - self.window}
            if len(self._failures) >= self.max_tracked:  # still full: forget the tenth that failed longest ago
                by_last = sorted(self._failures.items(), key=lambda kv: kv[1][-1])
                self._failures = dict(by_last[self.max_tracked // 10 :])
        recent = self._recent(key, now)
        recent.append(now)
        self._failures[key] = recent

    def retry_after(self, name: str, address: str) -> int:
        """Seconds until this name or address may try again (0: now)."""
        now = self._clock()
        with self._lock:
            waits = []
            for key, limit in ((("name", name.casefold()), self.per_name), (("address", address), self.per_address)):
                recent = self._recent(key, now)
                if len(recent) >= limit:
                    waits.append(recent[len(recent) - limit] + self.window - now)
            return int(max(waits) + 1) if waits else 0

    def failed(self, name: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            self._add(("name", name.casefold()), now)
            self._add(("address", address), now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(("name", name.casefold()), None)
