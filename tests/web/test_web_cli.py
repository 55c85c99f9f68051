"""`leadgate reviewers add|list|remove` and `leadgate review serve`'s defaults, through the real command."""

from __future__ import annotations

import duckdb
from typer.testing import CliRunner

from leadgate.cli.app import app
from leadgate.cli.web_cmds import serve


def _env(settings):
    return {"LEADGATE_DB": str(settings.db_path)}


def test_reviewers_are_added_with_an_argon2_hash_listed_and_removed(settings):
    runner = CliRunner()
    added = runner.invoke(
        app, ["reviewers", "add", "dana", "--password-stdin"], input="a long passphrase\n", env=_env(settings)
    )
    assert added.exit_code == 0, added.output
    assert "reviewer dana added" in added.output
    with duckdb.connect(str(settings.db_path), read_only=True) as con:
        stored = con.execute("select name, password_hash from review.reviewers").fetchall()
    assert stored[0][0] == "dana" and stored[0][1].startswith("$argon2id$") and "passphrase" not in stored[0][1]
    again = runner.invoke(
        app, ["reviewers", "add", "dana", "--password-stdin"], input="a long passphrase\n", env=_env(settings)
    )
    assert again.exit_code != 0 and "already exists" in str(again.exception)
    short = runner.invoke(app, ["reviewers", "add", "eve", "--password-stdin"], input="short\n", env=_env(settings))
    assert short.exit_code != 0 and "at least 10 characters" in str(short.exception)
    prompted = runner.invoke(
        app, ["reviewers", "add", "eve"], input="another passphrase\nanother passphrase\n", env=_env(settings)
    )
    assert prompted.exit_code == 0 and "another passphrase" not in prompted.output  # no echo
    listed = runner.invoke(app, ["reviewers", "list"], env=_env(settings))
    assert [line.split()[0] for line in listed.output.splitlines()] == ["dana", "eve"]
    assert runner.invoke(app, ["reviewers", "remove", "dana"], env=_env(settings)).exit_code == 0
    assert [
        line.split()[0] for line in runner.invoke(app, ["reviewers", "list"], env=_env(settings)).output.splitlines()
    ] == ["eve"]


def test_serve_binds_to_localhost_unless_told_otherwise():
    import inspect

    params = inspect.signature(serve).parameters
    assert params["host"].default == "127.0.0.1"
