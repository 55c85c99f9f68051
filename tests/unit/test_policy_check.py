"""`leadgate policy check`: the first bad key named by its path and line, one clear line per kind of mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadgate.config import PACKAGE_DIR
from leadgate.policy import PolicyError
from leadgate.policy.check import check_policy_file

DEFAULT = (PACKAGE_DIR / "policy" / "default.yaml").read_text(encoding="utf-8")


def variant(tmp_path: Path, old: str, new: str, name: str = "candidate.yaml") -> Path:
    """The default policy with one line changed; the line number of the change, for the assertions."""
    assert DEFAULT.count(old) == 1, old
    path = tmp_path / name
    path.write_text(DEFAULT.replace(old, new), encoding="utf-8")
    return path


def line_of(text: str) -> int:
    return DEFAULT.splitlines().index(next(line for line in DEFAULT.splitlines() if text in line)) + 1


def error(path: Path) -> str:
    with pytest.raises(PolicyError) as exc:
        check_policy_file(path)
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_the_bundled_policy_is_valid():
    assert check_policy_file(PACKAGE_DIR / "policy" / "default.yaml").version.startswith("20")


def test_a_value_out_of_range_in_a_list_is_named_by_its_path_and_line(tmp_path):
    path = variant(tmp_path, "- {min: 200, points: 20}", "- {min: 0, points: 20}")
    message = error(path)
    assert (
        f"{path}: scoring.fit.company_size[1].min: must be at least 1 (got 0) (line {line_of('min: 200')})" in message
    )


def test_a_probability_out_of_its_bounds_says_both_bounds(tmp_path):
    message = error(variant(tmp_path, "review_budget: 0.15", "review_budget: 1.5"))
    assert "routing.review_budget: must be between 0 and 1 (got 1.5)" in message
    assert f"(line {line_of('review_budget: 0.15')})" in message


def test_wrong_types_are_refused_even_where_loading_would_coerce(tmp_path):
    message = error(variant(tmp_path, "  fit_share: 0.45\n  fit:", '  fit_share: "0.45"\n  fit:'))
    assert "scoring.fit_share: must be a number, not text '0.45': remove the quotes" in message
    message = error(variant(tmp_path, "half_life_days: 30", "half_life_days: yes"))
    assert "scoring.engagement.half_life_days: must be a number, not true" in message
    message = error(variant(tmp_path, "required_fields: [email, last_name, company]", "required_fields: email"))
    assert "crm.required_fields: must be a list, not text 'email'" in message
    message = error(variant(tmp_path, "  unknown: deny", "  unknown: maybe"))
    assert "consent.unknown: must be one of 'deny' or 'allow', not text 'maybe'" in message


def test_an_unknown_key_is_named_with_the_likely_intended_one(tmp_path):
    path = variant(tmp_path, "  auto_confidence: 0.90", "  auto_confidnce: 0.90")
    message = error(path)
    # the misspelt key comes first, not the "missing" key it leaves behind
    assert f"{path}: routing.auto_confidnce: unknown key; did you mean 'auto_confidence'?" in message
    assert f"(line {line_of('auto_confidence: 0.90')})" in message


def test_an_unknown_event_type_and_a_duplicate_key(tmp_path):
    message = error(variant(tmp_path, "      pricing_view: 12", "      pricing_veiw: 12"))
    assert "scoring.engagement.weights.pricing_veiw: unknown event type (known: chat_message," in message
    path = variant(tmp_path, "  qualify_threshold: 0.55", "  qualify_threshold: 0.55\n  qualify_threshold: 0.35")
    assert f"scoring.qualify_threshold: duplicate key (first at line {line_of('qualify_threshold')})" in error(path)


def test_yaml_syntax_errors_give_the_line(tmp_path):
    path = variant(tmp_path, "  check_confidence: 0.60", "  check_confidence: [0.60")
    message = error(path)
    assert message.startswith(f"policy file {path}: YAML syntax error at line ")
    tabbed = tmp_path / "tab.yaml"
    tabbed.write_text("version: x\nscoring:\n  qualify_threshold: 0.5\n\tfit_share: 1\n", encoding="utf-8")
    assert "YAML syntax error at line 4, column 1: found character '\\t' that cannot start any token" in error(tabbed)


def test_missing_empty_and_non_mapping_files(tmp_path):
    assert error(tmp_path / "nope.yaml") == f"policy file not found: {tmp_path / 'nope.yaml'}"
    (tmp_path / "empty.yaml").write_text("# nothing\n", encoding="utf-8")
    assert error(tmp_path / "empty.yaml") == f"policy file {tmp_path / 'empty.yaml'} is empty"
    (tmp_path / "list.yaml").write_text("- version\n", encoding="utf-8")
    assert "the top level must be a mapping of keys" in error(tmp_path / "list.yaml")
    (tmp_path / "latin1.yaml").write_bytes("version: caf\xe9\n".encode("latin-1"))
    assert "is not UTF-8 text" in error(tmp_path / "latin1.yaml")
    assert "is a directory" in error(tmp_path)


def test_a_rule_across_keys_and_a_missing_section(tmp_path):
    message = error(variant(tmp_path, "  check_confidence: 0.60", "  check_confidence: 0.95"))
    assert ": routing.check_confidence must not exceed routing.auto_confidence (line " in message
    start, end = DEFAULT.index("gate:\n"), DEFAULT.index("crm:\n")
    (tmp_path / "nogate.yaml").write_text(DEFAULT[:start] + DEFAULT[end:], encoding="utf-8")
    assert "gate: required key is missing" in error(tmp_path / "nogate.yaml")


def test_a_tier_is_named_by_its_index(tmp_path):
    path = variant(tmp_path, "      check_confidence: 0.10", "      check_confidence: 1.10")
    assert (
        f"routing.tiers[1].check_confidence: must be between 0 and 1 (got 1.1) (line {line_of('check_confidence: 0.10')})"
        in error(path)
    )
    message = error(variant(tmp_path, "    - name: smb", "    - name: smb\n      min_employees: 5"))
    assert "routing.tiers: the last tier must match every lead" in message and "routing: routing" not in message
    message = error(variant(tmp_path, "qualify_threshold: 0.55", "qualify_threshold: 1"))
    assert "scoring.qualify_threshold: must be between 0 and 1 (exclusive) (got 1)" in message
