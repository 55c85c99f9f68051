"""A versioned prompt as the LLM connector receives it (loaded by leadgate.scoring.prompts)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

LEADS_OPEN, LEADS_CLOSE = "<leads_data>", "</leads_data>"


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    system: str

    @property
    def digest(self) -> str:
        """A short hash of the text: a prompt edited without a version bump still changes cache keys."""
        return hashlib.sha256(self.system.encode()).hexdigest()[:12]
