"""`leadgate import ...`: load lead-level files (lead lists here; other kinds attach to `import_app`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadgate.config import LeadgateSettings

import_app = typer.Typer(no_args_is_help=True, help="Import lead-level files (lead lists, outcomes).")


def _mapping(pairs: list[str]) -> dict[str, str]:
    from leadgate.ingest.lead_lists import LeadListError

    mapping = {}
    for pair in pairs:
        target, sep, column = pair.partition("=")
        if not sep or not target.strip() or not column.strip():
            raise LeadListError(f"--map wants target=column, got {pair!r}")
        mapping[target.strip().lower()] = column.strip()
    return mapping


@import_app.command("leads")
def import_leads(
    file: Annotated[Path, typer.Argument(help="a CSV of leads (delimiter , ; or tab; UTF-8, a BOM is fine)")],
    key: Annotated[str, typer.Option("--key", help="the column with the external id of each lead (required)")],
    maps: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="target=column: fill a lead field (email, first_name, company_size, ...) from a column"
        ),
    ] = None,
) -> None:
    """Import a lead list: mapped columns fill lead fields, the rest become typed custom attributes."""
    from leadgate.ingest.lead_lists import import_lead_list
    from leadgate.store import db

    mapping = _mapping(maps or [])
    with db.connect(LeadgateSettings()) as con:
        report = import_lead_list(con, file, key, mapping)
    for line in report.lines():
        typer.echo(line)
