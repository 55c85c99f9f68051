"""`leadgate import outcomes` and `leadgate model …`: outcomes in, models trained, registered, promoted, watched."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated

import typer

from leadgate.cli.import_cmds import import_app
from leadgate.config import LeadgateSettings

model_app = typer.Typer(
    no_args_is_help=True, help="Models trained on outcomes: train, registry, shadow, thresholds, report."
)

VersionArg = Annotated[str, typer.Argument(help="a model version (see `leadgate model list`)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _ctx():
    from leadgate.policy import load_policy
    from leadgate.store import db

    settings = LeadgateSettings()
    return settings, load_policy(settings.policy), db


def _actor() -> str:
    try:
        return f"operator:{getpass.getuser()}"
    except (KeyError, OSError):
        return "operator"


def _pct(v) -> str:
    return "–" if v is None else f"{v:.1%}"


def _num(v) -> str:
    return "–" if v is None else f"{v:.3f}"


@import_app.command("outcomes")
def import_outcomes_cmd(
    file: Annotated[Path, typer.Argument(help="CSV with a header row")],
    key: Annotated[str, typer.Option(help="column naming the lead: email, lead id or an imported external key")],
    outcome: Annotated[str, typer.Option(help="column saying whether the lead converted")],
    positive: Annotated[
        str | None, typer.Option(help="the outcome value that means converted (else yes/no, won/lost, 1/0 …)")
    ] = None,
    closed_at: Annotated[
        str | None, typer.Option("--closed-at", help="column with the date the outcome was decided")
    ] = None,
) -> None:
    """Record converted / not converted per lead; bad rows are rejected with reasons; the same file twice changes nothing."""
    from leadgate.model.outcomes import import_outcomes

    settings, _, db = _ctx()
    with db.connect(settings) as con:
        report = import_outcomes(con, file, key=key, outcome=outcome, positive=positive, closed_at=closed_at)
        rejects = (
            con.execute(
                "select source_row, reason from scoring.outcome_rejects where import_id = ? order by 1 limit 10",
                [report.import_id],
            ).fetchall()
            if report.import_id
            else []
        )
    typer.echo(report.message)
    for line, reason in rejects:
        typer.echo(f"  rejected line {line}: {reason}")
    if report.rejected > len(rejects):
        typer.echo(f"  … {report.rejected - len(rejects)} more in scoring.outcome_rejects (import {report.import_id})")


@model_app.command("train")
def train_cmd(
    time_split: Annotated[
        bool, typer.Option("--time-split", help="hold out the latest outcomes instead of a random share")
    ] = False,
) -> None:
    """Train on every lead with an outcome (features as scored), evaluate on held-out leads, register a version."""
    from leadgate.model.train import train

    settings, policy, db = _ctx()
    with db.connect(settings) as con:
        rec = train(con, policy, settings.db_path, time_split=time_split)
    m = rec["metrics"]["heldout"]
    typer.echo(
        f"trained {rec['family']} ({rec['calibration']} calibration) on {rec['training']['train_rows']} leads in "
        f"{rec['metrics']['train_seconds']} s; cross-validated log loss: "
        + ", ".join(f"{k} {v:.4f}" for k, v in rec["metrics"]["cv_log_loss"].items())
    )
    typer.echo(
        f"held-out ({m['leads']} leads): ROC AUC {_num(m['roc_auc'])}, Brier {_num(m['brier'])}, ECE {_num(m['ece'])}, "
        f"precision {_pct(m['at_precision'])} / recall {_pct(m['at_recall'])} at {m['at_threshold']}, "
        f"review share {_pct(m['bands']['review_share'])}"
    )
    excluded = rec["training"].get("excluded") or {}
    if excluded:
        typer.echo(f"{len(excluded)} custom attributes are not features:")
        for column, reason in excluded.items():
            typer.echo(f"  {column}: {reason}")
    typer.echo(f"version: {rec['version']}")


@model_app.command("list")
def list_cmd(as_json: JsonOpt = False) -> None:
    """Registered versions, newest last; which one decides (champion) and which shadows."""
    from leadgate.model import registry
    from leadgate.model.retrain import retrain_due

    settings, policy, db = _ctx()
    with db.connect(settings) as con:
        rows, champ, shadow = registry.versions(con), registry.alias(con, "champion"), registry.alias(con, "shadow")
        due = {r["version"]: retrain_due(con, r, policy) for r in rows}
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {k: r[k] for k in ("version", "family", "calibration", "fingerprint", "metrics")}
                    | {
                        "champion": r["version"] == champ,
                        "shadow": r["version"] == shadow,
                        "retrain_due": due[r["version"]],
                    }
                    for r in rows
                ],
                default=str,
                indent=2,
            )
        )
        return
    if not rows:
        typer.echo("no model versions yet: `leadgate model train` (the baseline scorer decides)")
        return
    typer.echo(f"{'version':<24} {'family':<9} {'calib':<9} {'AUC':>6} {'ECE':>6} {'leads':>6}  role")
    for r in rows:
        m = r["metrics"]["heldout"]
        role = "champion" if r["version"] == champ else "shadow" if r["version"] == shadow else ""
        typer.echo(
            f"{r['version']:<24} {r['family']:<9} {r['calibration']:<9} {_num(m['roc_auc']):>6} {_num(m['ece']):>6} "
            f"{r['training']['rows']:>6}  {role}"
        )
    typer.echo(f"deciding: {champ or 'baseline scorer'}" + (f"; shadow: {shadow}" if shadow else ""))
    for v in (champ, shadow):
        if v and due.get(v):
            typer.echo(f"retrain due for {v}: {'; '.join(due[v])} (`leadgate model train`)")


@model_app.command("show")
def show_cmd(version: VersionArg) -> None:
    """One version: metrics on held-out leads, training data, files and checksums."""
    from leadgate.model import registry
    from leadgate.model.retrain import retrain_due

    settings, policy, db = _ctx()
    with db.connect(settings) as con:
        rec = registry.get(con, version)
        rec["retrain_due"] = retrain_due(con, rec, policy)
    typer.echo(json.dumps(rec, default=str, indent=2))


@model_app.command("promote")
def promote_cmd(version: VersionArg) -> None:
    """Make V decide from the next run on (the previous champion stays one rollback away)."""
    from leadgate.model import registry

    settings, policy, db = _ctx()
    with db.connect(settings) as con:
        registry.load(con, version)  # refuse a version whose files do not check out
        previous = registry.promote(con, version, _actor())
        held = registry.heldout(con, version)
    typer.echo(f"{version} decides from the next run (before: {previous or 'baseline scorer'})")
    note = threshold_note(held, policy, version)
    if note:
        typer.echo(note)


def threshold_note(held: dict, policy, version: str) -> str | None:
    """A line when the held-out outcomes suggest a threshold other than the one the model will decide with."""
    import numpy as np

    from leadgate.model.thresholds import propose

    t = policy.model.qualify_threshold or policy.scoring.qualify_threshold
    p, y = np.asarray(held["p"], float), np.asarray(held["y"], float)
    try:
        best = propose(held, policy, policy.routing.review_budget)["proposal"]["threshold"]
    except ValueError:
        return None
    if abs(best - t) < 0.05 - 1e-9:
        return None
    return (
        f"note: at threshold {t:g} this model qualifies {float((p >= t).mean()):.0%} of held-out leads "
        f"({float(y.mean()):.0%} converted); its held-out outcomes suggest about {best:.2f}: see "
        f"`leadgate model thresholds {version}` and set model.qualify_threshold in the policy"
    )


@model_app.command("rollback")
def rollback_cmd() -> None:
    """The champion before the current one decides again from the next run (or the baseline scorer)."""
    from leadgate.model import registry

    settings, _, db = _ctx()
    with db.connect(settings) as con:
        old, new = registry.rollback(con, _actor())
    typer.echo(f"rolled back {old}: {new or 'the baseline scorer'} decides from the next run")


@model_app.command("shadow")
def shadow_cmd(
    version: Annotated[str | None, typer.Argument(help="version to score beside the champion")] = None,
    stop: Annotated[bool, typer.Option("--stop", help="stop shadow scoring")] = False,
) -> None:
    """Score every lead with V beside the champion on each run; its scores are recorded, never routed on."""
    from leadgate.model import registry

    if (version is None) == (not stop):
        raise typer.BadParameter("give a version, or --stop")
    settings, _, db = _ctx()
    with db.connect(settings) as con:
        if version:
            registry.load(con, version)
        registry.set_shadow(con, None if stop else version, _actor())
    typer.echo(
        "shadow scoring stopped" if stop else f"{version} shadows the champion from the next run (recorded, not routed)"
    )


@model_app.command("compare")
def compare_cmd(version: VersionArg, as_json: JsonOpt = False) -> None:
    """The shadow V against the champion: agreement, leads whose state would change, both on held-out outcomes."""
    from leadgate.model.compare import compare

    settings, policy, db = _ctx()
    with db.connect(settings) as con:
        out = compare(con, version, policy)
    if as_json:
        typer.echo(json.dumps(out, default=str, indent=2))
        return
    typer.echo(f"{version} against {out['champion']}: {out['shadow_leads']} leads shadow-scored")
    if out["shadow_leads"]:
        typer.echo(
            f"  same decision {_pct(out['decision_agreement'])}, same state {_pct(out['state_agreement'])}; "
            f"{out['state_changes']} lead(s) would change state"
        )
        for c in out["changes"]:
            typer.echo(f"    {c['lead_id']}: {c['champion']} -> {c['shadow']}")
    for name, m in (out.get("metrics") or {}).items():
        typer.echo(
            f"  {name}: {m['leads']} held-out leads with outcomes: ROC AUC {_num(m['roc_auc'])}, "
            f"Brier {_num(m['brier'])}, ECE {_num(m['ece'])}"
        )
    if not out.get("metrics"):
        typer.echo(
            f"  no held-out leads with outcomes of both kinds yet ({out['heldout_leads']} leads neither trained on)"
        )


@model_app.command("thresholds")
def thresholds_cmd(
    version: VersionArg,
    review_budget: Annotated[float, typer.Option(min=0, max=1, help="largest share of leads sent to review")] = 0.15,
    out: Annotated[Path | None, typer.Option(help="candidate policy file (default policy-candidate-<V>.yaml)")] = None,
) -> None:
    """Propose the qualify threshold and confidence bands (global and per tier) from held-out outcomes; writes a candidate policy only."""
    from leadgate.model import registry
    from leadgate.model.thresholds import write_candidate
    from leadgate.model.tier_thresholds import MIN_TIER_LEADS, propose_tiers

    settings, policy, db = _ctx()
    with db.connect(settings) as con:
        result = propose_tiers(registry.heldout(con, version), policy, review_budget)
    glob = result["global"]

    def table(rows: list[dict]) -> None:
        typer.echo(
            f"  {'review budget':>13} {'threshold':>9} {'auto':>5} {'check':>5} {'to review':>9} {'accuracy':>8}"
        )
        for r in rows:
            typer.echo(
                f"  {r['review_budget']:>13.0%} {r['threshold']:>9.2f} {r['auto_confidence']:>5.2f} "
                f"{r['check_confidence']:>5.2f} {r['review_share']:>9.1%} {r['accuracy']:>8.1%}"
            )

    typer.echo(f"all {result['leads']} held-out leads:")
    table(glob["table"])
    cur, best = glob["current"], glob["proposal"]
    typer.echo(
        f"current policy: threshold {cur['threshold']}, bands {cur['auto_confidence']}/{cur['check_confidence']}: "
        f"{_pct(cur['review_share'])} to review, {_pct(cur['accuracy'])} accurate"
    )
    typer.echo(
        f"proposed (review within {review_budget:.0%}): threshold {best['threshold']:.2f}, bands "
        f"{best['auto_confidence']:.2f}/{best['check_confidence']:.2f}: {_pct(best['review_share'])} to review, "
        f"{_pct(best['accuracy'])} accurate"
    )
    for name, e in result["tiers"].items():
        p = e["proposal"]
        typer.echo(
            f"tier {name} ({e['leads']} held-out leads): threshold {p['threshold']:.2f}, bands "
            f"{p['auto_confidence']:.2f}/{p['check_confidence']:.2f}: {_pct(p['review_share'])} to review, "
            f"{_pct(p['accuracy'] if e['leads'] else None)} accurate"
            + (
                ""
                if e["source"] == "tier"
                else f" [global numbers: {'kept within the budget' if e['source'] != 'global' else f'fewer than {MIN_TIER_LEADS} leads or one kind of outcome'}]"
            )
        )
        if e["source"] == "tier":
            table(e["table"])
    typer.echo(
        f"whole review share with the tiers: {_pct(result['review_share'])} "
        f"(budget {review_budget:.0%}), automatic decisions {_pct(result['accuracy'])} accurate"
    )
    if result["note"]:
        typer.echo(f"note: {result['note'].strip()}")
    tiers = {name: e["proposal"] for name, e in result["tiers"].items()}
    path = write_candidate(settings.policy, best, version, out or Path(f"policy-candidate-{version}.yaml"), tiers=tiers)
    typer.echo(
        f"candidate policy: {path} (the live policy is unchanged; replay it with "
        f"`leadgate policy simulate --policy {path}`)"
    )


@model_app.command("report")
def report_cmd(
    version: VersionArg,
    out: Annotated[Path | None, typer.Option(help="HTML file (default model-<V>.html)")] = None,
) -> None:
    """A self-contained HTML report: ROC, reliability, importances, score distributions, threshold trade-off."""
    from leadgate.model import registry
    from leadgate.model.report import render
    from leadgate.model.thresholds import propose

    settings, policy, db = _ctx()
    with db.connect(settings) as con:
        rec, model, held = registry.get(con, version), registry.load(con, version), registry.heldout(con, version)
    path = out or Path(f"model-{version}.html")
    path.write_text(render(rec, model.doc, held, propose(held, policy, policy.routing.review_budget)), encoding="utf-8")
    typer.echo(f"wrote {path}")
