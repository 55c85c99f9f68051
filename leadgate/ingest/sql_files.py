"""Ingest's SQL lives in .sql files beside this module: Jinja macros, one per statement, rendered once at import."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

HERE = Path(__file__).parent


def statements(file_name: str, names: tuple[str, ...], **context: Any) -> dict[str, str]:
    """Each named macro of the file, rendered with `context` (constants and fragment builders only, never values)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True)
    module = env.from_string((HERE / file_name).read_text(encoding="utf-8"), globals=context).module
    return {name: str(getattr(module, name)()) for name in names}
