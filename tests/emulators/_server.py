"""Shared machinery of the CRM emulators: a threaded HTTP(S) server on 127.0.0.1, a record of every
request by kind, and per-test fault injection."""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Received:
    """One request as the emulator saw it."""

    kind: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Answer:
        return cls(status, json.dumps(payload).encode(), headers=headers or {})


@dataclass
class Fault:
    """What to do to the next `times` requests of `kind` ('*' = any kind)."""

    kind: str
    action: str  # status | slow | drop_after_apply | hold_after_apply | drop_before
    times: int = 1
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs; every answer has a Content-Length
    server: _Server

    def setup(self) -> None:
        # Without TCP_NODELAY a header write followed by a body write waits ~40 ms for a delayed ACK.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        self.server.emulator._dispatch(self, self.command, parts.path, parse_qs(parts.query), body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    emulator: EmulatorBase


class EmulatorBase:
    """Start/stop, request log, counts and fault queue; subclasses route requests by kind."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, record_bodies: bool = True) -> None:
        self._ssl_context = ssl_context
        self.record_bodies = record_bodies
        self.lock = threading.RLock()
        self.received: list[Received] = []
        self.counts: Counter[str] = Counter()
        self.faults: list[Fault] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> EmulatorBase:
        server = _Server(("127.0.0.1", 0), _Handler)
        if self._ssl_context is not None:
            server.socket = self._ssl_context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        server.emulator = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> EmulatorBase:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "emulator not started"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    # ---------------------------------------------------------------- control API

    def reset_traffic(self) -> None:
        with self.lock:
            self.received.clear()
            self.counts.clear()
            self.faults.clear()

    def fail(
        self, kind: str, status: int, *, times: int = 1, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next `times` requests of `kind` with `status` (body defaults to the API's own)."""
        with self.lock:
            self.faults.append(Fault(kind, "status", times, status, body, dict(headers or {})))

    def slow(self, kind: str, seconds: float, *, times: int = 1) -> None:
        """Wait `seconds` before handling the next `times` requests of `kind` (the write still applies)."""
        with self.lock:
            self.faults.append(Fault(kind, "slow", times, seconds=seconds))

    def drop_after_apply(self, kind: str, *, times: int = 1) -> None:
        """Apply the next `times` requests of `kind`, then close the connection without answering."""
        with self.lock:
            self.faults.append(Fault(kind, "drop_after_apply", times))

    def hold_after_apply(self, kind: str, seconds: float, *, times: int = 1) -> None:
        """Apply the next `times` requests of `kind`, then wait `seconds` before answering (a client killed meanwhile)."""
        with self.lock:
            self.faults.append(Fault(kind, "hold_after_apply", times, seconds=seconds))

    def requests_of(self, kind: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.kind == kind]

    # ---------------------------------------------------------------- dispatch

    def _take_fault(self, kind: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.times > 0 and fault.kind in (kind, "*"):
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def _dispatch(self, handler: _Handler, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        kind = self.classify(method, path)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        with self.lock:
            self.counts[kind] += 1
            self.received.append(Received(kind, method, path, query, headers, body if self.record_bodies else b""))
        fault = self._take_fault(kind)
        if fault is not None and fault.action == "slow":
            time.sleep(fault.seconds)  # then answer normally: a timed-out client never sees it
            fault = None
        if fault is not None and fault.action == "status":
            answer = self.fault_answer(kind, fault)
        else:
            denied = self.check_auth(headers)
            answer = denied if denied is not None else self.route(kind, method, path, query, headers, body)
        if fault is not None and fault.action == "hold_after_apply":
            time.sleep(fault.seconds)
            try:
                self._write(handler, self.decorate(kind, answer))
            except OSError:
                pass  # the client is gone (that is the point)
            return
        if fault is not None and fault.action == "drop_after_apply":
            handler.close_connection = True
            handler.wfile.flush()
            try:
                handler.connection.shutdown(2)
            except OSError:
                pass
            return
        self._write(handler, self.decorate(kind, answer))

    def _write(self, handler: _Handler, answer: Answer) -> None:
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(answer.body)))
        for key, value in answer.headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        if answer.body:
            handler.wfile.write(answer.body)

    # ---------------------------------------------------------------- for subclasses

    def classify(self, method: str, path: str) -> str:
        raise NotImplementedError

    def check_auth(self, headers: dict[str, str]) -> Answer | None:
        raise NotImplementedError

    def route(
        self, kind: str, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: bytes
    ) -> Answer:
        raise NotImplementedError

    def fault_answer(self, kind: str, fault: Fault) -> Answer:
        raise NotImplementedError

    def decorate(self, kind: str, answer: Answer) -> Answer:
        return answer
