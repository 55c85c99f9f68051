"""`leadgate review serve` and `leadgate reviewers add|list|remove`: the browser queue and its accounts."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from leadgate.config import LeadgateSettings

reviewers_app = typer.Typer(no_args_is_help=True, help="Reviewer accounts of the browser queue (argon2 hashes only).")


def register(app: typer.Typer, review_app: typer.Typer) -> None:
    """Add `review serve` and the `reviewers` group to the `leadgate` command."""
    review_app.command("serve")(serve)
    app.add_typer(reviewers_app, name="reviewers")


def serve(
    host: Annotated[
        str, typer.Option(help="address to bind; anything but 127.0.0.1 exposes the queue to the network")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port")] = 8080,
) -> None:
    """Serve the review queue in the browser (sign-in required; decisions are attributed to the reviewer)."""
    import uvicorn

    from leadgate.policy import load_policy
    from leadgate.review.web.app import create_app

    settings = LeadgateSettings()
    drafter = None
    if settings.scorer == "llm":  # an endpoint is configured: reviewers may ask it for a draft
        from connectors.llm.settings import LlmSettings, OpenAISettings
        from leadgate.review.clarify import llm_drafter

        drafter = llm_drafter(OpenAISettings(), LlmSettings())
    app = create_app(settings, load_policy(settings.policy), drafter=drafter)
    typer.echo(f"review queue on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(f"warning: bound to {host}: reachable from other machines; put TLS in front of it", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False, server_header=False)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    return typer.prompt("password", hide_input=True, confirmation_prompt=True)


@reviewers_app.command("add")
def reviewers_add(
    name: Annotated[str, typer.Argument(help="the reviewer's sign-in name (recorded on decisions)")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from the first line of stdin")
    ] = False,
) -> None:
    """Add a reviewer; the password is asked without echo (or read from stdin) and stored as an argon2 hash."""
    from leadgate.review.reviewers import add_reviewer, check_name

    check_name(name)  # a bad name fails before the password is asked
    reviewer = add_reviewer(LeadgateSettings(), name, _password(password_stdin))
    typer.echo(f"reviewer {reviewer.name} added")


@reviewers_app.command("list")
def reviewers_list() -> None:
    """The reviewers who can sign in."""
    from leadgate.review.reviewers import list_reviewers
    from leadgate.shared.neutral_text import one_line

    found = list_reviewers(LeadgateSettings())
    if not found:
        typer.echo("no reviewers yet: `leadgate reviewers add NAME`")
    for reviewer in found:
        typer.echo(f"{one_line(reviewer.name)}  added {reviewer.created_at:%Y-%m-%d %H:%M}")


@reviewers_app.command("remove")
def reviewers_remove(name: Annotated[str, typer.Argument(help="the reviewer to remove")]) -> None:
    """Remove a reviewer: their sessions end at once; decisions they made stay attributed to them."""
    from leadgate.review.reviewers import remove_reviewer

    remove_reviewer(LeadgateSettings(), name)
    typer.echo(f"reviewer {name} removed")
