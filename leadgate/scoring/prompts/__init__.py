"""Versioned prompt files: `<name>_v<N>.md` with a header naming the prompt and its version."""

from __future__ import annotations

from functools import cache
from importlib import resources

from leadgate.shared.prompt import LEADS_CLOSE, LEADS_OPEN, Prompt  # noqa: F401 (the type the connector receives)


class PromptError(ValueError):
    """A prompt file is missing or has no valid header."""


@cache
def load_prompt(version: str) -> Prompt:
    """The prompt whose file is `<version>.md` (e.g. `score_v1`)."""
    try:
        text = resources.files(__package__).joinpath(f"{version}.md").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptError(f"prompt {version!r} not found in leadgate/scoring/prompts/") from None
    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        raise PromptError(f"prompt {version!r} has no '---' header")
    header, body = text[4:].split("\n---\n", 1)
    meta = dict(line.split(":", 1) for line in header.splitlines() if ":" in line)
    meta = {k.strip(): v.strip() for k, v in meta.items()}
    if meta.get("version") != version or not meta.get("name"):
        raise PromptError(f"prompt {version!r}: header must name the prompt and carry `version: {version}`")
    return Prompt(name=meta["name"], version=version, system=body.strip())
