"""Terminal log output for `leadgate run`: Prefect's progress lines, without tracebacks.

A failed run ends in one clear line from the CLI; the full traceback still reaches the Prefect API
(and so the UI) for ops, and LEADGATE_DEBUG=1 shows it in the terminal too.
"""

from __future__ import annotations

import logging

from leadgate.shared.neutral_text import terminal_safe


class _WithoutTraceback(logging.Formatter):
    """Formats a record as the wrapped formatter would, minus exception and stack text."""

    def __init__(self, inner: logging.Formatter | None, keep_tracebacks: bool = False) -> None:
        super().__init__()
        self._inner = inner or logging.Formatter()
        self._keep = keep_tracebacks

    def format(self, record: logging.LogRecord) -> str:
        if self._keep:  # LEADGATE_DEBUG: the traceback too, still unable to drive the terminal
            return terminal_safe(self._inner.format(record))
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return terminal_safe(self._inner.format(record))  # a file name or message cannot drive the terminal
        finally:
            record.exc_info, record.exc_text, record.stack_info = saved


def hide_tracebacks_in_terminal(keep_tracebacks: bool = False) -> int:
    """Wrap the formatter of every Prefect console handler (output made terminal-safe); returns how many were wrapped."""
    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict) if name.startswith("prefect")
    ]
    wrapped = 0
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler) and not isinstance(handler.formatter, _WithoutTraceback):
                handler.setFormatter(_WithoutTraceback(handler.formatter, keep_tracebacks))
                wrapped += 1
    return wrapped
