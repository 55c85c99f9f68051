"""The `leadgate` command. Heavy modules (Prefect, dbt, GX) are imported only by the commands that need them."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from leadgate.config import LeadgateSettings
from leadgate.shared.crms import crm_choices

app = typer.Typer(add_completion=False, no_args_is_help=True, help="leadgate: qualify leads from raw engagement.")
review_app = typer.Typer(no_args_is_help=True, help="Work the review queue.")
app.add_typer(review_app, name="review")
crm_app = typer.Typer(no_args_is_help=True, help="Prepare the CRM (LEADGATE_CRM) for a live sync.")
app.add_typer(crm_app, name="crm")
from leadgate.cli import web_cmds  # noqa: E402 - `review serve`, `reviewers` (issue 12)

web_cmds.register(app, review_app)
from leadgate.cli import metrics_cmds  # noqa: E402 - `leadgate metrics` lives in its own module

app.command("metrics")(metrics_cmds.metrics)
from leadgate.cli.import_cmds import import_app  # noqa: E402 - `import leads` here; `import outcomes` (model_cmds) attaches to it
from leadgate.cli.model_cmds import model_app  # noqa: E402 - light: heavy imports are inside the commands

app.add_typer(import_app, name="import")
app.add_typer(model_app, name="model")
from leadgate.cli.policy_cmds import policy_app  # noqa: E402 - registered beside the other sub-apps

app.add_typer(policy_app, name="policy")

EXIT_SKIPPED = 75  # `leadgate run` met another live run for the whole wait (EX_TEMPFAIL: try again later)

ReviewerOpt = Annotated[
    str | None, typer.Option("--reviewer", help="who decides (default LEADGATE_REVIEWER, else the OS user)")
]
StrictOpt = Annotated[
    bool,
    typer.Option("--strict", help="exit 1 when there are warnings (e.g. a file with most records rejected), for CI"),
]


def _settings() -> LeadgateSettings:
    return LeadgateSettings()


def _echo_json(value: Any) -> None:
    from leadgate.pipeline.steps import to_plain

    typer.echo(json.dumps(to_plain(value), indent=2, default=str))


@app.command()
def run(
    rescore: Annotated[bool, typer.Option(help="re-score every lead (nightly: lets time decay take effect)")] = False,
    full_refresh: Annotated[bool, typer.Option(help="rebuild every dbt model from scratch")] = False,
    inbox: Annotated[Path | None, typer.Option(help="folder of event files (default LEADGATE_INBOX)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as JSON")] = False,
    strict: StrictOpt = False,
) -> None:
    """Run the whole pipeline once, as a Prefect flow: ingest, dbt, score, gate, route, sync."""
    settings = _settings()
    from leadgate.ingest.files import check_inbox
    from leadgate.policy import load_policy

    load_policy(settings.policy)  # a bad policy file fails before Prefect starts
    check_inbox(inbox or settings.inbox)  # so does a wrong LEADGATE_INBOX (exit 2)
    from flows.pipeline import leadgate_pipeline
    from leadgate.cli.prefect_server import prefect_api
    from leadgate.cli.render_summary import render_text
    from leadgate.cli.terminal_logs import hide_tracebacks_in_terminal

    hide_tracebacks_in_terminal(
        keep_tracebacks=bool(os.environ.get("LEADGATE_DEBUG"))
    )  # lead text stays inert either way

    from leadgate.pipeline.interrupts import RunTerminated

    _sigterm_unwinds_the_run()
    stopped: KeyboardInterrupt | None = None
    with prefect_api(say=lambda line: typer.echo(line, err=True)):
        try:
            summary = leadgate_pipeline(rescore=rescore, full_refresh=full_refresh, inbox=str(inbox) if inbox else None)
        except KeyboardInterrupt as exc:  # typer would turn it into a silent exit 130: say which step stopped
            stopped = exc
    if stopped is not None:  # said last, once the temporary server has stopped
        typer.echo(str(stopped) or "run interrupted", err=True)
        raise typer.Exit(143 if isinstance(stopped, RunTerminated) else 130)
    if summary.get("skipped"):  # another run held the slot or the run lock for all of LEADGATE_RUN_WAIT
        typer.echo(summary["skipped"], err=True)
        raise typer.Exit(EXIT_SKIPPED)
    if as_json:
        _echo_json(summary)
    else:
        typer.echo(render_text(summary))
    if any(not inv.get("ok") for inv in (summary.get("status") or {}).get("invariants", [])):
        raise typer.Exit(1)
    _fail_if_strict(strict, (summary.get("ingest") or {}).get("warnings") or [])


def _sigterm_unwinds_the_run() -> None:
    """SIGTERM raises Prefect's TerminationSignal: the server stops and `main` says so, not a silent death by signal.

    Prefect's flow engine re-sends SIGTERM to the handler it found on the way out; with the default
    one the process died at once (exit by signal, no line, the temporary server left to the kernel).
    """
    import signal

    from prefect.exceptions import TerminationSignal

    def terminate(signum: int, _frame: object) -> None:
        raise TerminationSignal(signal=signum)

    signal.signal(signal.SIGTERM, terminate)


def _fail_if_strict(strict: bool, warnings: list[str]) -> None:
    """--strict: warnings (already shown) fail the command, for CI."""
    if strict and warnings:
        typer.echo(f"leadgate: error: --strict: {len(warnings)} warning(s) (above)", err=True)
        raise typer.Exit(1)


@app.command()
def ingest(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="files or folders of events (JSON Lines or CSV); default LEADGATE_INBOX"),
    ] = None,
    strict: StrictOpt = False,
) -> None:
    """Load event files into the raw engagement table."""
    from leadgate.pipeline.steps import ingest_step
    from leadgate.shared.neutral_text import one_line

    report = ingest_step(_settings(), paths or None, progress=lambda msg: typer.echo(one_line(msg), err=True))
    typer.echo(
        f"{report.records} records: {report.accepted} accepted, {report.rejected} rejected, "
        f"{report.duplicates} duplicates ({report.conflicts} conflicting), {report.field_issues} field issues; "
        f"{report.files_skipped} unchanged file(s) skipped"
    )
    _fail_if_strict(strict, report.warnings)


@app.command()
def status(as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """Counts of events and leads per state, and the invariant check (exit 1 when one is broken)."""
    from leadgate.cli.status_text import format_status
    from leadgate.store import db
    from leadgate.store.invariants import collect_status

    with db.read_connection(_settings()) as con:
        report = collect_status(con)
    if as_json:
        _echo_json(report)
    else:
        typer.echo(format_status(report))
    if any(not inv["ok"] for inv in report.get("invariants", [])):
        raise typer.Exit(1)


@app.command()
def sql(
    query: Annotated[
        str,
        typer.Argument(help='the SQL to run, e.g. "select state, count(*) from lifecycle.lead_states group by all"'),
    ],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    limit: Annotated[int, typer.Option(min=1, help="at most this many rows")] = 1000,
) -> None:
    """Run one read-only query on the analysts' read copy (never blocks the pipeline)."""
    from leadgate.cli.sql_text import render
    from leadgate.store.analyst_sql import FORMATS, SqlError, run_query

    if fmt not in FORMATS:
        raise SqlError(f"unknown --format {fmt!r}: use table, csv or json")
    result = run_query(_settings(), query, limit=limit)
    if result.note:
        typer.echo(result.note, err=True)
    if not result.columns:
        typer.echo("(no result set)", err=True)
        return
    # color=True: click would otherwise strip escape sequences from redirected CSV (the values must stay exact)
    typer.echo(render(result, fmt, terminal=sys.stdout.isatty()), color=True)
    more = f"; more rows exist (showing the first {limit}: raise --limit)" if result.truncated else ""
    typer.echo(f"({len(result.rows)} row(s){more})", err=True)


@app.command()
def docs(
    serve: Annotated[
        bool, typer.Option("--serve", help="then serve them on http://127.0.0.1:PORT until Ctrl-C")
    ] = False,
    port: Annotated[int, typer.Option(min=1, max=65535, help="port for --serve")] = 8080,
) -> None:
    """Generate the dbt docs (every mart column) from the read copy; never opens the main database."""
    from leadgate.transform.docs import docs_server, generate_docs

    typer.echo("generating dbt docs from the read copy…", err=True)
    folder = generate_docs(_settings())
    typer.echo(f"dbt docs: {folder / 'index.html'}")
    if not serve:
        return
    server = docs_server(folder, port)
    typer.echo(f"serving the dbt docs at http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C to stop)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped", err=True)
    finally:
        server.server_close()


def _review_service():
    from leadgate.policy import load_policy
    from leadgate.review.service import ReviewService

    settings = _settings()
    return settings, ReviewService(settings, load_policy(settings.policy))


def _item_dict(item: Any) -> dict:
    from leadgate.pipeline.steps import to_plain

    return to_plain(item) if not isinstance(item, dict) else item


@review_app.command("list")
def review_list(
    status_: Annotated[
        str, typer.Option("--status", help="pending, approved, rejected, clarification_requested, superseded, all")
    ] = "pending",
    limit: Annotated[int, typer.Option(help="at most this many items")] = 200,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    oldest: Annotated[bool, typer.Option("--oldest", help="oldest first instead of by priority")] = False,
) -> None:
    """List review items, highest priority first (named accounts, hot signals, then expected value; ties oldest first)."""
    _, service = _review_service()
    status = None if status_ == "all" else status_
    if oldest:  # the service orders by priority: take every item, then the oldest `limit`
        found = sorted(service.list_items(status=status, limit=2**62), key=lambda i: (i["created_at"], i["id"]))[:limit]
    else:
        found = service.list_items(status=status, limit=limit)
    items = [_item_dict(i) for i in found]
    if as_json:
        _echo_json(items)
        return
    if not items:
        typer.echo(f"no {status_} review items")
        return
    from leadgate.cli.review_render import format_item_table

    typer.echo(format_item_table(items))


@review_app.command("show")
def review_show(item_id: int, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Everything about one review item: the interaction, the machine's assessment, the history."""
    _, service = _review_service()
    item = _item_dict(service.get(item_id))
    if as_json:
        _echo_json(item)
        return
    from leadgate.cli.review_render import format_item_detail

    typer.echo(format_item_detail(item))


@review_app.command("approve")
def review_approve(
    item_id: int,
    note: Annotated[str | None, typer.Option(help="why")] = None,
    reviewer: ReviewerOpt = None,
    edit: Annotated[
        list[str] | None, typer.Option("--edit", help="field=value first: company_size, company, job_title, country")
    ] = None,
) -> None:
    """Approve as MQL: the lead becomes qualified and is picked up by the next sync."""
    from leadgate.cli.review_cmds import parse_edit_options

    settings, service = _review_service()
    service.approve(item_id, settings.reviewer_name(reviewer), note=note, edits=parse_edit_options(edit))
    typer.echo(f"review item {item_id} approved: the lead is qualified and will sync on the next run")


@review_app.command("reject")
def review_reject(
    item_id: int,
    reason: Annotated[str | None, typer.Option(help="why the lead is not for sales")] = None,
    reviewer: ReviewerOpt = None,
    reason_code: Annotated[
        str | None,
        typer.Option("--reason-code", help="one of the policy's review.reject_reasons (text alone: other)"),
    ] = None,
) -> None:
    """Reject: the lead is not sales-ready; it stays rejected until a person says otherwise."""
    settings, service = _review_service()
    service.reject(item_id, settings.reviewer_name(reviewer), reason=reason, reason_code=reason_code)
    typer.echo(f"review item {item_id} rejected")


@review_app.command("clarify")
def review_clarify(
    item_id: int,
    question: Annotated[str, typer.Option(help="what needs clarifying")],
    reviewer: ReviewerOpt = None,
    draft_file: Annotated[
        Path | None,
        typer.Option("--draft-file", help="the email you will send (`review draft` writes one; - = stdin)"),
    ] = None,
    confirm: Annotated[list[str] | None, typer.Option("--confirm", help="hash of a flagged promise you keep")] = None,
) -> None:
    """Ask for clarification: the lead waits; new activity brings it back to review."""
    from leadgate.cli.review_cmds import read_draft

    settings, service = _review_service()
    service.clarify(
        item_id, settings.reviewer_name(reviewer), question=question, draft=read_draft(draft_file), confirmed=confirm
    )
    typer.echo(f"review item {item_id}: clarification requested")


from leadgate.cli.review_cmds import register as _register_review_cmds  # noqa: E402 (reopen, draft, overrides)

_register_review_cmds(review_app)


@app.command()
def forget(
    email: str,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    wait: Annotated[float, typer.Option(help="seconds to wait for a running pipeline to release the database")] = 600,
) -> None:
    """Erase a person's data everywhere, keeping only audit rows without personal data."""
    if not yes and sys.stdin.isatty():
        typer.confirm(f"erase every trace of {email}?", abort=True)
    from leadgate.store.forget import forget_person

    report = forget_person(_settings(), email, wait=wait, progress=lambda msg: typer.echo(msg, err=True))
    typer.echo(report.message or f"erased {report.total} rows for {report.email}")


@app.command()
def sample(
    leads: Annotated[int, typer.Option(min=1, help="how many people")] = 500,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("data/generated"),
    # not the bundled sample's seed (7); the event ids carry seed and size anyway (leadgate.sample.generator.id_suffix)
    seed: Annotated[int, typer.Option(help="random seed (same seed, same files; event ids differ per seed)")] = 1,
    bad_records: Annotated[bool, typer.Option(help="include a few deliberately bad records")] = True,
    outcomes: Annotated[
        bool,
        typer.Option(
            "--outcomes", help="also write <out>-outcomes.csv beside the folder (leadgate/sample/outcomes.py)"
        ),
    ] = False,
) -> None:
    """Write realistic synthetic engagement files."""
    from leadgate.sample.generator import write_sample

    report = _item_dict(write_sample(out, leads=leads, seed=seed, bad_records=bad_records))
    files = report.get("files") or report.get("records_per_file") or {}
    typer.echo(f"wrote {out}: " + ", ".join(f"{Path(str(k)).name} {v}" for k, v in dict(files).items()))
    if outcomes:
        from leadgate.sample.outcomes import write_sample_outcomes

        path, rows, won = write_sample_outcomes(out, leads=leads, seed=seed)
        typer.echo(
            f"wrote {path}: {rows} outcomes, {won} converted (import: leadgate import outcomes {path} "
            "--key email --outcome stage --positive 'Closed Won' --closed-at closed_at)"
        )


@app.command()
def sync(
    preview: Annotated[
        bool,
        typer.Option(
            "--preview", help="show which leads would be created or updated and which fields change; send nothing"
        ),
    ] = False,
    limit: Annotated[int, typer.Option(help="with --preview: at most this many leads listed (0 = all)")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Run the sync step alone: live mode sends owed leads to LEADGATE_CRM, shadow mode only fills the outbox."""
    from leadgate.policy import load_policy

    settings = _settings()
    policy = load_policy(settings.policy)
    if preview:
        from leadgate.cli.sync_output import format_preview
        from leadgate.sync.preview import preview_sync

        mapping = None
        if settings.crm != "none":
            from connectors.crm.registry import crm_mapping

            mapping = crm_mapping(settings.crm)
        result = preview_sync(settings, policy, mapping=mapping)
        if as_json:
            _echo_json(result)
        else:
            typer.echo(format_preview(result, limit=limit))
        return
    from leadgate.cli.sync_output import format_sync_report
    from leadgate.pipeline.steps import new_run_id, sync_step

    report = sync_step(settings, policy, new_run_id())
    if as_json:
        _echo_json(report)
    else:
        typer.echo(format_sync_report(report))
        if report.unfinished_sends:  # leadgate.sync.intents: a sender killed before it recorded the answers
            typer.echo(
                f"{report.unfinished_sends} lead(s) from a send that died before recording the CRM's answers: "
                "logged in sync.attempts and sent again (matched by leadgate's key, no duplicate)"
            )


def _crm_connector():
    from connectors.crm.registry import CrmSettingsError, build_connector

    settings = _settings()
    if settings.crm == "none":
        raise CrmSettingsError(f"`leadgate crm` needs {crm_choices()}")
    return build_connector(settings.crm)


def _report_missing(connector: Any, missing: list[str]) -> None:
    """Print what the CRM lacks, then fail (exit 1) with one line: a live sync would refuse to start."""
    from connectors.crm.base import CrmNotReady

    gap = connector.setup_gap(missing)
    if gap.heading:
        typer.echo(gap.heading)
    for line in gap.instructions:
        typer.echo(f"  - {line}")
    raise CrmNotReady(gap.error)


@crm_app.command("check")
def crm_check() -> None:
    """List the fields/properties leadgate writes that the CRM lacks (exit 1 if any); changes nothing."""
    connector = _crm_connector()
    missing = connector.missing_setup()
    if missing:
        _report_missing(connector, missing)
    typer.echo(f"{connector.name} is ready: every field in the mapping exists ({len(connector.mapping.fields)} mapped)")


@crm_app.command("setup")
def crm_setup() -> None:
    """HubSpot: create the contact properties leadgate writes. Salesforce: print the Lead fields an admin must create."""
    connector = _crm_connector()
    created = connector.create_missing()
    if created:
        typer.echo(connector.created_line(created))
    missing = connector.missing_setup()
    if missing:
        _report_missing(connector, missing)
    typer.echo(f"{connector.name} is ready: every field in the mapping exists ({len(connector.mapping.fields)} mapped)")


def _one_line(exc: BaseException) -> str:
    """The error line: secrets redacted, and no terminal control sequence from quoted input."""
    from leadgate.shared.neutral_text import one_line
    from leadgate.shared.redaction import redact

    return one_line(redact(_error_text(exc)))


def _error_text(exc: BaseException) -> str:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from leadgate.shared.settings_errors import settings_error_line

        return settings_error_line(exc, "LEADGATE_")
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text


def _exit_code(exc: BaseException) -> int:
    """2 for a usage mistake (a path or the inbox that does not exist), else 1."""
    from leadgate.ingest.report import InputMissing

    return 2 if isinstance(exc, InputMissing) else 1


def main() -> None:
    """Entry point: every error is one clear line on stderr, never a traceback (LEADGATE_DEBUG=1 shows it)."""
    try:
        _main()
    except SystemExit:
        _silence_shutdown_noise()
        raise


def _silence_shutdown_noise() -> None:
    """Nothing after the command's last line: duckdb's `nanobind: leaked …` lines and other interpreter-exit output."""
    if os.environ.get("LEADGATE_DEBUG"):
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _main() -> None:
    from leadgate.pipeline.telemetry import apply_telemetry_defaults

    apply_telemetry_defaults()  # before dbt, Prefect or GX read their settings
    try:
        # standalone_mode=False makes click return (not raise) the code of a `typer.Exit`.
        code = app(standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            typer.echo(str(exc.__cause__) or "interrupted", err=True)
            sys.exit(130)
        typer.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        typer.echo(str(exc) or "interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("LEADGATE_DEBUG"):
            raise
        typer.echo(f"leadgate: error: {_one_line(exc)}", err=True)
        sys.exit(_exit_code(exc))
    except BaseException as exc:
        if type(exc).__name__ != "TerminationSignal":  # Prefect's SIGTERM during a run (locks already released)
            raise
        typer.echo("leadgate: terminated (SIGTERM)", err=True)
        sys.exit(143)


if __name__ == "__main__":
    main()
