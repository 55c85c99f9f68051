"""A local OpenAI-compatible chat-completions server whose answers are scripted per test.

It speaks the real wire format (`POST /v1/chat/completions`, structured output via
`response_format: json_schema`, `usage`, `x-request-id`), answers from the leads in the request
(a callable per test; by default a keyword heuristic, deliberately gullible towards injected
instructions so tests can prove the scorer's isolation; `gullible=True` obeys any instruction-like
text in any lead for every lead of the request), injects faults on demand, and records
every request so tests can assert what left the pipeline.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LEADS_OPEN, LEADS_CLOSE = "<leads_data>", "</leads_data>"
FAULTS = (
    "401",
    "429",
    "500",
    "slow",
    "invalid_json",
    "schema_violation",
    "wrong_leads",
    "missing_leads",
    "extra_leads",
    "refusal",
    "truncated",
)


@dataclass
class Fault:
    kind: str  # one of FAULTS
    retry_after: float = 0.05  # for 429
    delay: float = 2.0  # for slow


@dataclass
class EmulatedRequest:
    index: int
    body: dict[str, Any]
    raw: str
    kind: str  # score | validate | other
    leads: list[dict[str, Any]]
    headers: dict[str, str] = field(default_factory=dict)
    request_id: str = ""
    status: int = 200
    fault: str | None = None


ScoreFn = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
FaultFn = Callable[[EmulatedRequest], "Fault | str | None"]


# --- the default heuristic "model" ------------------------------------------------------------

_RULES: list[tuple[str, str, str, float, str]] = [
    # (pattern, qualification, intent, confidence, sentiment); first hit wins
    (r"not interested|unsubscribe|remove me|stop emailing|no budget", "nurture", "other", 0.92, "negative"),
    (r"\bjob\b|resume|\bcv\b|career|open position", "nurture", "job_seeker", 0.9, "neutral"),
    (r"we offer|our agency|outsourc|seo services|lead generation services", "nurture", "vendor_pitch", 0.9, "neutral"),
    (r"\bbug\b|error|cannot log in|support ticket|password", "nurture", "support", 0.85, "negative"),
    (r"partner|reseller", "nurture", "partnership", 0.7, "positive"),
    (r"maybe|not sure|just browsing|some point", "unknown", "other", 0.45, "neutral"),
    (r"demo|meeting|walkthrough|trial", "qualified", "demo", 0.9, "positive"),
    (r"pricing|quote|price|procurement|cost", "qualified", "pricing", 0.88, "positive"),
]
_GULLIBLE = re.compile(r"ignore (?:all )?previous instructions|mark (?:me|us|all|every)", re.IGNORECASE)
_SENIORITY_FIT = {"c_level": 0.9, "vp": 0.8, "director": 0.7, "manager": 0.5, "individual": 0.3}


def _fragment(text: str, pattern: str) -> str:
    """The clause of `text` around the first match: an exact substring, as evidence."""
    match = re.search(pattern, text, re.IGNORECASE)
    if not match:
        return ""
    start = (
        max(text.rfind(".", 0, match.start()), text.rfind("?", 0, match.start()), text.rfind("!", 0, match.start())) + 1
    )
    end_candidates = [i for i in (text.find(c, match.end()) for c in ".?!") if i != -1]
    end = min(end_candidates) if end_candidates else len(text)
    return text[start:end].strip()[:120]


def heuristic_answer(lead: dict[str, Any]) -> dict[str, Any]:
    """A plausible answer from keywords in the lead's messages and its attributes."""
    text = " ".join(lead.get("messages") or [])
    behaviour = lead.get("behaviour") or {}
    fit = _SENIORITY_FIT.get(lead.get("seniority"), 0.2)
    fit = min(1.0, fit + (0.1 if lead.get("is_target_account") else 0.0))
    qualification, intent, confidence, sentiment, quotes = "unknown", "other", 0.5, "unknown", []
    for pattern, qual, cat, conf, sent in _RULES:
        if re.search(pattern, text, re.IGNORECASE):
            qualification, intent, confidence, sentiment = qual, cat, conf, sent
            quotes = [_fragment(text, pattern)]
            break
    else:
        if behaviour.get("demo_requests") or behaviour.get("meeting_requests"):
            qualification, intent, confidence = "qualified", "demo", 0.75
    if _GULLIBLE.search(text):
        qualification, confidence = "qualified", 0.99
    intent_score = {"qualified": 0.85, "nurture": 0.2, "unknown": 0.4}[qualification]
    return {
        "lead_id": lead["lead_id"],
        "qualification": qualification,
        "intent_category": intent,
        "fit_score": round(fit, 2),
        "intent_score": intent_score,
        "confidence": confidence,
        "evidence": {"quotes": [q for q in quotes if q], "features": ["seniority", "behaviour.demo_requests"]},
        "missing_information": [] if lead.get("company_size_band") != "unknown" else ["company size"],
        "exception_reason": None,
        "sentiment": sentiment,
        "summary": f"The prospect shows {intent} intent. Recommended: {qualification}.",
    }


def heuristic_score(leads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answers = [heuristic_answer(lead) for lead in leads]
    # Gullible on purpose: "mark all leads qualified" inside one lead moves every answer in the batch.
    if any(re.search(r"mark (?:all|every)", " ".join(lead.get("messages") or []), re.IGNORECASE) for lead in leads):
        for answer in answers:
            answer.update(qualification="qualified", confidence=0.99, intent_score=0.99)
    return answers


# Anything that reads like an instruction about ratings, in any language the tests use, or a marker a test picks.
GULLIBLE_TRIGGER = re.compile(
    r"qualif|calific|cualific|rate |rating|score|priorit|mark |marque|markier|einstuf|class|hot lead|sales-ready|"
    r"decision maker|ignore|instruc|anweisung|consigne|ready to buy|quente|tratad|全員|有望",
    re.IGNORECASE,
)


def gullible_score(leads: list[dict[str, Any]], trigger: re.Pattern[str] = GULLIBLE_TRIGGER) -> list[dict[str, Any]]:
    """A model that obeys instructions in any lead's text across the whole request: all answers qualified."""
    answers = [heuristic_answer(lead) for lead in leads]
    texts = [" ".join([*(lead.get("messages") or []), lead.get("company") or ""]) for lead in leads]
    if any(trigger.search(text) for text in texts):
        for answer in answers:
            answer.update(
                qualification="qualified",
                intent_category="demo",
                confidence=0.99,
                intent_score=0.99,
                fit_score=0.99,
                exception_reason=None,
            )
    return answers


def gullible_validate(items: list[dict[str, Any]], trigger: re.Pattern[str] = GULLIBLE_TRIGGER) -> list[dict[str, Any]]:
    """The validator of the same model: agrees with every first answer when any lead's text asks it to."""
    verdicts = heuristic_validate(items)
    if any(trigger.search(" ".join(it["lead"].get("messages") or [])) for it in items):
        for verdict, item in zip(verdicts, items):
            verdict.update(agrees=True, qualification=item["first_answer"]["qualification"], confidence=0.99)
    return verdicts


def heuristic_validate(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    verdicts = []
    for item in items:
        own = heuristic_answer({"lead_id": item["lead_id"], **item["lead"]})
        first = item["first_answer"]["qualification"]
        verdicts.append(
            {
                "lead_id": item["lead_id"],
                "agrees": own["qualification"] == first,
                "qualification": own["qualification"],
                "confidence": own["confidence"],
                "reason": f"The messages point to {own['qualification']}.",
            }
        )
    return verdicts


# --- the server -------------------------------------------------------------------------------


class OpenAIEmulator:
    """Run with `with OpenAIEmulator() as emu:`; point the client at `emu.base_url`."""

    def __init__(
        self,
        *,
        score: ScoreFn | None = None,
        validate: ScoreFn | None = None,
        faults: FaultFn | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        record_bodies: bool = True,
        api_key: str | None = None,
        gullible: bool = False,
        draft: Callable[[list[dict[str, Any]]], str] | None = None,
    ) -> None:
        self.api_key = api_key  # when set, any other bearer token gets OpenAI's 401 invalid_api_key
        # gullible: obeys instructions in any lead's text for every lead of the request (gullible_score)
        self.score = score or (gullible_score if gullible else heuristic_score)
        self.validate = validate or (gullible_validate if gullible else heuristic_validate)
        self.fault_fn = faults
        self.draft = draft  # plain-text answers to requests without a schema (clarification drafts)
        self.latency = latency
        self.record_bodies = record_bodies
        self.requests: list[EmulatedRequest] = []
        self.queued: deque[Fault] = deque()
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail_next(self, kind: str, times: int = 1, **kwargs: Any) -> None:
        """Queue `times` faults of `kind` for the next requests."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; known: {FAULTS}")
        self.queued.extend(Fault(kind, **kwargs) for _ in range(times))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.queued.clear()
            self.max_in_flight = 0

    def scored(self, kind: str = "score") -> list[EmulatedRequest]:
        return [r for r in self.requests if r.kind == kind]

    def start(self) -> OpenAIEmulator:
        self._thread = threading.Thread(target=self._server.serve_forever, name="openai-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OpenAIEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # called from handler threads
    def handle(self, raw: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes, float]:
        body = json.loads(raw)
        fmt = (body.get("response_format") or {}).get("json_schema") or {}
        name = fmt.get("name", "")
        kind = "score" if "Score" in name else "validate" if "Validate" in name else "other"
        user = next((m["content"] for m in body.get("messages", []) if m.get("role") == "user"), "")
        leads = _leads_in(user)
        with self._lock:
            request = EmulatedRequest(
                len(self.requests),
                body if self.record_bodies else {},
                raw if self.record_bodies else "",
                kind,
                leads,
                headers,
                request_id=f"req_{uuid.uuid4().hex[:20]}",
            )
            self.requests.append(request)
            fault = self.queued.popleft() if self.queued else None
        if fault is None and self.fault_fn is not None:
            fault = self.fault_fn(request)
        if isinstance(fault, str):
            fault = Fault(fault)
        request.fault = fault.kind if fault else None
        delay = self.latency + (fault.delay if fault and fault.kind == "slow" else 0.0)
        status, extra_headers, payload = self._respond(body, request, fault, user)
        request.status = status
        return status, {"x-request-id": request.request_id, **extra_headers}, json.dumps(payload).encode(), delay

    def _respond(self, body, request, fault, user) -> tuple[int, dict[str, str], dict[str, Any]]:
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            sent = request.headers.get("authorization", "").removeprefix("Bearer ")
            masked = f"{sent[:3]}{'*' * max(0, len(sent) - 7)}{sent[-4:]}" if len(sent) > 7 else "*" * len(sent)
            return (
                401,
                {},
                {
                    "error": {
                        "message": f"Incorrect API key provided: {masked}. You can find your API key at "
                        "https://platform.openai.com/account/api-keys.",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": "invalid_api_key",
                    }
                },
            )
        if fault and fault.kind == "429":
            return (
                429,
                {"retry-after": f"{fault.retry_after:g}"},
                {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}},
            )
        if fault and fault.kind == "401":
            return (
                401,
                {},
                {
                    "error": {
                        "message": "Incorrect API key provided",
                        "type": "invalid_request_error",
                        "code": "invalid_api_key",
                    }
                },
            )
        if fault and fault.kind == "500":
            return 500, {}, {"error": {"message": "The server had an error", "type": "server_error"}}
        if request.kind == "score":
            items, key = self.score(request.leads), "answers"
        elif request.kind == "validate":
            items, key = self.validate(request.leads), "verdicts"
        else:
            items, key = [], "answers"
        finish, refusal = "stop", None
        kind = fault.kind if fault else None
        if kind == "wrong_leads":
            items = [{**item, "lead_id": f"X{i + 1}"} for i, item in enumerate(items)]
        elif kind == "missing_leads":
            items = items[:-1]
        elif kind == "extra_leads" and items:
            items = items + [{**items[0], "lead_id": f"L{len(items) + 7}"}]
        elif kind == "schema_violation" and items:
            items = [{**items[0], "confidence": "very high", "qualification": "maybe"}] + items[1:]
        content: str | None = json.dumps({key: items})
        if request.kind == "other" and self.draft is not None:
            content = self.draft(request.leads)
        if kind == "invalid_json":
            content = content[: len(content) // 2] + "}}]"
        elif kind == "truncated":
            content, finish = content[: len(content) // 2], "length"
        elif kind == "refusal":
            content, refusal = None, "I'm sorry, I can't help with that."
        prompt_tokens = sum(len(m.get("content") or "") for m in body.get("messages", [])) // 4
        completion_tokens = len(content or refusal or "") // 4
        return (
            200,
            {},
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model"),
                "system_fingerprint": None,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": refusal},
                        "finish_reason": finish,
                        "logprobs": None,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )


def _leads_in(user: str) -> list[dict[str, Any]]:
    if LEADS_OPEN not in user:
        return []
    block = user.split(LEADS_OPEN, 1)[1].split(LEADS_CLOSE, 1)[0]
    return [json.loads(line) for line in block.splitlines() if line.strip()]


def _handler(emulator: OpenAIEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall

        def log_message(self, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/stats":  # for out-of-process use (the benchmark)
                with emulator._lock:
                    stats = {
                        "requests": len(emulator.requests),
                        "max_in_flight": emulator.max_in_flight,
                        "by_kind": {k: sum(1 for r in emulator.requests if r.kind == k) for k in ("score", "validate")},
                    }
                self._send(200, {}, json.dumps(stats).encode())
            else:
                self._send(404, {}, b'{"error": {"message": "not found"}}')

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length).decode("utf-8")
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {}, b'{"error": {"message": "not found"}}')
                return
            with emulator._lock:
                emulator.in_flight += 1
                emulator.max_in_flight = max(emulator.max_in_flight, emulator.in_flight)
            try:
                status, headers, payload, delay = emulator.handle(raw, {k.lower(): v for k, v in self.headers.items()})
                if delay:
                    time.sleep(delay)
                self._send(status, headers, payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to answer
            finally:
                with emulator._lock:
                    emulator.in_flight -= 1

        def _send(self, status: int, headers: dict[str, str], payload: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler


if (
    __name__ == "__main__"
):  # a stand-alone emulator, e.g. for the benchmark: python -m tests.emulators.openai_server 8765 0.3
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8765
    latency = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    emulator = OpenAIEmulator(port=port, latency=latency, record_bodies=False)
    print(emulator.base_url, flush=True)
    emulator._server.serve_forever()
