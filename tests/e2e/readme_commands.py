"""The analyst commands the README promises, read out of README.md so a test runs them as written."""

from __future__ import annotations

import re
import shlex

from leadgate.config import REPO_DIR

_BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def readme_blocks(lang: str) -> list[str]:
    """Bodies of the README's fenced code blocks in `lang` (sql, sh)."""
    text = (REPO_DIR / "README.md").read_text(encoding="utf-8")
    return [body for kind, body in _BLOCK.findall(text) if kind == lang]


def sql_statements() -> list[str]:
    """Every statement of every ```sql block, comments dropped."""
    statements = []
    for body in readme_blocks("sql"):
        code = "\n".join(line for line in body.splitlines() if not line.strip().startswith("--"))
        statements += [s.strip() for s in code.split(";") if s.strip()]
    return statements


def shell_commands() -> list[list[str]]:
    """Every command line of every ```sh block, as argv (trailing `# comments` dropped)."""
    return [
        argv for body in readme_blocks("sh") for line in body.splitlines() if (argv := shlex.split(line, comments=True))
    ]
