"""`leadgate run`'s console log lines cannot drive the terminal, with LEADGATE_DEBUG's tracebacks too (issue 8 item 7)."""

from __future__ import annotations

import io
import logging
import re

import pytest
from prefect.logging.handlers import PrefectConsoleHandler

from leadgate.cli.terminal_logs import hide_tracebacks_in_terminal

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")


@pytest.mark.parametrize("debug", [False, True])
def test_console_log_lines_are_terminal_safe_with_or_without_tracebacks(debug):
    out = io.StringIO()
    handler = PrefectConsoleHandler(stream=out)
    logger = logging.getLogger("prefect.leadgate-test-terminal")
    logger.addHandler(handler)
    try:
        hide_tracebacks_in_terminal(keep_tracebacks=debug)
        try:
            raise ValueError("bad company \x1b]52;c;cm0gLXJm\x07\x1b[2J")
        except ValueError:
            logger.exception("loaded \x1b[2Jevil\x9b31m.jsonl: 1 rejected\r")
    finally:
        logger.removeHandler(handler)
    text = out.getvalue()
    assert "evil" in text and "rejected" in text
    assert not UNSAFE.search(text.replace("\n", "")), repr(text)
    assert ("Traceback" in text and "bad company" in text) is debug
