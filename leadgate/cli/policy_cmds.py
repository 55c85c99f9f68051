"""`leadgate policy check|simulate`: validate a policy file, and see what a candidate would change before using it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

policy_app = typer.Typer(
    no_args_is_help=True, help="Check a policy file; simulate a candidate policy on the current leads."
)


@policy_app.command("check")
def check(file: Annotated[Path, typer.Argument(help="the policy file (YAML)")]) -> None:
    """Validate a policy file: the first bad key is named with its path and line (exit 1); ok prints the version."""
    from leadgate.policy.check import check_policy_file
    from leadgate.shared.neutral_text import one_line

    policy = check_policy_file(file)
    typer.echo(one_line(f"{file}: ok, policy version {policy.version}"))


@policy_app.command("simulate")
def simulate(
    policy: Annotated[Path, typer.Option("--policy", help="the candidate policy file (YAML)")],
    as_json: Annotated[bool, typer.Option("--json", help="print the comparison as one JSON document")] = False,
    sample: Annotated[int, typer.Option(min=0, help="how many leads that change state to list")] = 10,
) -> None:
    """Replay the current leads through the current policy and a candidate, writing nothing: what would change."""
    import json

    from leadgate.config import LeadgateSettings
    from leadgate.pipeline.steps import to_plain
    from leadgate.policy import load_policy
    from leadgate.policy.check import check_policy_file
    from leadgate.routing.simulate import simulate_policy

    settings = LeadgateSettings()
    current = load_policy(settings.policy)
    candidate = check_policy_file(policy)
    result = simulate_policy(settings, current, candidate, sample=sample)
    if as_json:
        document = {"current_policy": str(settings.policy), "candidate_policy": str(policy)} | to_plain(result)
        typer.echo(json.dumps(document, indent=2, default=str))
    else:
        typer.echo(format_simulation(result, current_path=settings.policy, candidate_path=policy))


def _rate(part: dict) -> str:
    if part.get("rate") is None:
        return "n/a (nothing decided)"
    return f"{part['rate']:.1%} ({part['review']} of {part['decided']} decided)"


def _table(title: str, before: dict[str, int], after: dict[str, int]) -> list[str]:
    keys = list(dict.fromkeys([*before, *after]))
    width = max([len(title) - 2, *(len(k) for k in keys)])
    lines = [f"{title:<{width + 2}}  {'before':>7}  {'after':>7}  {'change':>7}"]
    for key in keys:
        b, a = before.get(key, 0), after.get(key, 0)
        change = f"{a - b:+d}" if a != b else ""
        lines.append(f"  {key:<{width}}  {b:>7}  {a:>7}  {change:>7}".rstrip())
    return lines


def _budget(result) -> str:
    """Whether each side's exception rate is within its policy's review budget."""
    said = []
    for side in ("before", "after"):
        rate, budget = result.exception_rate[side].get("rate"), result.review_budget[side]
        verdict = "n/a" if rate is None else ("over" if rate > budget else "within")
        said.append(f"{verdict} {budget:.0%} {side}")
    return ", ".join(said)


def format_simulation(result, *, current_path: Path, candidate_path: Path) -> str:
    """The comparison as aligned terminal text: counts before -> after, the exception rate, a sample of changes."""
    from leadgate.shared.neutral_text import one_line, terminal_safe

    r = result
    rescored = f"{r.scores_changed} lead(s) score differently under the candidate"
    lines = [
        f"policy simulate: {r.current_version} ({current_path}) -> {r.candidate_version} ({candidate_path})",
        f"{r.leads} lead(s) replayed from the {r.source}, nothing written; {rescored}",
        f"the current policy reproduces {r.replay_matches_recorded} of {r.recorded_leads} recorded state(s)"
        + (f" ({r.leads - r.recorded_leads} lead(s) not routed yet)" if r.recorded_leads < r.leads else ""),
    ]
    if r.llm_scores_kept:
        lines.append(f"{r.llm_scores_kept} lead(s) keep their LLM score as recorded (the model is not asked again)")
    lines += ["", *_table("leads per state", r.states["before"], r.states["after"])]
    lines += ["", *_table("leads per tier", r.tiers["before"], r.tiers["after"])]
    lines += ["", *_table("next action", r.next_actions["before"], r.next_actions["after"])]
    before, after = r.exception_rate["before"], r.exception_rate["after"]
    lines += [
        "",
        f"exception rate   {_rate(before)} -> {_rate(after)}",
        f"review budget    {_budget(r)}",
        f"change state     {r.changed} lead(s)",
        f"newly synced     {r.newly_synced} lead(s) (qualified, consenting, CRM fields complete under the candidate only)",
        f"no longer synced {r.no_longer_synced} lead(s)",
    ]
    if r.transitions:
        width = max(len(t["from"]) for t in r.transitions)
        lines += ["", "state changes"]
        lines += [f"  {t['from']:<{width}} -> {t['to']:<14} {t['leads']:>6}" for t in r.transitions]
    if r.sample:
        lines += ["", f"sample of leads that change state ({len(r.sample)} of {r.changed})"]
        for s in r.sample:
            tier = f"  tier {s['before_tier']} -> {s['after_tier']}" if s["before_tier"] != s["after_tier"] else ""
            lines.append(f"  {one_line(s['lead_id'])}  {s['before']} -> {s['after']}{tier}")
            lines.append(f"      before: {', '.join(s['before_reasons']) or '-'}")
            lines.append(f"      after:  {', '.join(s['after_reasons']) or '-'}")
    return terminal_safe("\n".join(lines))
