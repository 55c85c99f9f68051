"""`leadgate review reopen | draft | replay | overrides` and the option parsing the decision commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ReviewerOpt = Annotated[
    str | None, typer.Option("--reviewer", help="who decides (default LEADGATE_REVIEWER, else the OS user)")
]


def parse_edit_options(values: list[str] | None) -> dict[str, str]:
    """`--edit field=value` options as {field: value} (the review domain validates the fields and values)."""
    from leadgate.review.errors import ReviewError

    edits: dict[str, str] = {}
    for value in values or []:
        field, sep, text = value.partition("=")
        if not sep or not field.strip():
            raise ReviewError(f"--edit {value!r}: write it as field=value, e.g. --edit company_size=51-200")
        edits[field.strip()] = text
    return edits


def read_draft(path: Path | None) -> str | None:
    """The reviewer's draft from a file ('-' = standard input)."""
    if path is None:
        return None
    import sys

    return sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")


def _service():
    from leadgate.config import LeadgateSettings
    from leadgate.policy import load_policy
    from leadgate.review.service import ReviewService

    settings = LeadgateSettings()
    return settings, ReviewService(settings, load_policy(settings.policy))


def register(review_app: typer.Typer) -> None:
    """Add the commands of this module to `leadgate review`."""

    @review_app.command("reopen")
    def review_reopen(item_id: int, reviewer: ReviewerOpt = None) -> None:
        """Reopen your own decision before it synced: the item is pending and the lead in review again."""
        settings, service = _service()
        service.reopen(item_id, settings.reviewer_name(reviewer))
        typer.echo(f"review item {item_id} reopened: pending again")

    @review_app.command("draft")
    def review_draft(
        item_id: int,
        question: Annotated[str | None, typer.Option(help="what needs clarifying (default: from the reasons)")] = None,
        llm: Annotated[
            bool | None,
            typer.Option("--llm/--template", help="draft with the LLM (default when LEADGATE_SCORER=llm)"),
        ] = None,
        reviewer: ReviewerOpt = None,
    ) -> None:
        """Show a clarification email for the lead (never sent), with the promises it makes flagged."""
        from leadgate.review.clarify import llm_drafter
        from leadgate.shared.neutral_text import terminal_safe

        settings, service = _service()
        drafter = None
        if llm if llm is not None else settings.scorer == "llm":
            from connectors.llm.settings import LlmSettings, OpenAISettings

            drafter = llm_drafter(OpenAISettings(), LlmSettings())
        draft = service.draft_clarification(
            item_id, settings.reviewer_name(reviewer), question=question, drafter=drafter
        )
        typer.echo(terminal_safe(draft.text))
        if draft.note:
            typer.echo(f"note: {draft.note}", err=True)
        for p in draft.promises:
            typer.echo(terminal_safe(f"promise #{p.index} [{p.kinds_text()}] {p.hash}: {p.sentence}"), err=True)
        typer.echo(
            f"(draft from the {draft.source}; save it, edit it, then `leadgate review clarify {item_id} "
            "--question ... --draft-file FILE --confirm HASH` for each promise you keep)",
            err=True,
        )

    @review_app.command("replay")
    def review_replay() -> None:
        """Apply the decisions saved while a run held the database (the page and every run do it on their own)."""
        from leadgate.review import journal

        settings, service = _service()
        report = journal.replay(settings, service.policy, lock_wait=settings.lock_timeout)
        if report.busy:
            typer.echo(f"the database is still held: {report.remaining} saved decision(s) wait", err=True)
            raise typer.Exit(75)
        typer.echo(
            f"{report.applied} applied, {report.conflicts} in conflict, {report.already} already applied, "
            f"{report.remaining} left"
        )
        for reason in report.conflict_reasons:
            typer.echo(f"conflict: {reason}", err=True)

    @review_app.command("overrides")
    def review_overrides(
        csv_out: Annotated[Path | None, typer.Option("--csv", help="write every override to this CSV file")] = None,
    ) -> None:
        """Where people overrode the machine, grouped by reason code, tier, policy and model version."""
        from leadgate.review.overrides import group_overrides, overrides_csv

        _, service = _service()
        rows = service.overrides()
        if csv_out is not None:
            csv_out.write_text(overrides_csv(rows), encoding="utf-8", newline="")
            typer.echo(f"{len(rows)} override(s) written to {csv_out}")
            return
        if not rows:
            typer.echo("no overrides")
            return
        for g in group_overrides(rows):
            typer.echo(
                f"{g['count']:>5}  {g['kind']:<22} {g['reason_code'] or '-':<24} tier {g['tier'] or '-':<4} "
                f"policy {g['policy_version'] or '-'}  model {g['model_version'] or '-'}"
            )
