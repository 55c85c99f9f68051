"""Custom attributes of an imported lead list as model features: typed, the unusable ones left out with reasons.

The end-to-end part imports a generated list the way a user would (`import leads`, `import outcomes` on the
same file, `model train`), with outcomes drawn from a known propensity over some of its columns.
"""

from __future__ import annotations

import csv
import re

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from leadgate.cli.app import app
from leadgate.config import LeadgateSettings
from leadgate.model import attributes, metrics, registry
from leadgate.model.scorer import reasons
from leadgate.model.snapshots import features_frame, snapshot_features, training_rows
from leadgate.store import db

LEADS = 3000
SOURCES = {"Referral": 1.6, "Organic Search": 0.6, "Google": 0.0, "Direct Traffic": -0.3, "Olark Chat": -0.9}
OCCUPATIONS = {"Working Professional": 1.3, "Student": -0.6, "Unemployed": 0.0}
PLACEHOLDERS = ["Select", "N/A", "-", ""]
WORDS = ["call", "back", "next", "week", "wants", "pricing", "demo", "not", "interested", "budget", "maybe", "later"]


def propensity_list(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A list shaped like a CRM export and each row's probability of converting (as the file shows it).

    logit = -1.2 + source effect + occupation effect (placeholders: 0) + 0.9 * (log1p(visits) - 1.5)
            + 0.8 * (minutes on site / 10 - 1) - 0.8 * [Do Not Email = Yes]; City, Country, the id,
            the email and the notes carry nothing.
    """
    rng = np.random.default_rng(seed)
    source = rng.choice(list(SOURCES), n, p=[0.15, 0.2, 0.3, 0.2, 0.15]).astype(object)
    occupation = rng.choice(list(OCCUPATIONS), n, p=[0.25, 0.15, 0.6]).astype(object)
    visits = rng.poisson(3, n).astype(float)
    minutes = np.round(rng.gamma(2.0, 5.0, n), 1)
    no_email = rng.random(n) < 0.1
    logit = (
        -1.2
        + np.array([SOURCES[s] for s in source])
        + np.array([OCCUPATIONS[o] for o in occupation])
        + 0.9 * (np.log1p(visits) - 1.5)
        + 0.8 * (minutes / 10 - 1)
        - 0.8 * no_email
    )
    # placeholders hide a value: the propensity then has no effect of that column (what the file shows)
    hide_source, hide_occ, hide_visits = rng.random(n) < 0.08, rng.random(n) < 0.2, rng.random(n) < 0.05
    logit -= np.where(hide_source, [SOURCES[s] for s in source], 0)
    logit -= np.where(hide_occ, [OCCUPATIONS[o] for o in occupation], 0)
    logit -= np.where(hide_visits, 0.9 * (np.log1p(visits) - 1.5), 0)
    source[hide_source] = rng.choice(PLACEHOLDERS, hide_source.sum())
    occupation[hide_occ] = rng.choice(PLACEHOLDERS, hide_occ.sum())
    p = 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame(
        {
            "Prospect ID": [f"{rng.integers(1 << 62):016x}-{i:05d}" for i in range(n)],
            "Lead Number": np.arange(600_000, 600_000 + n),
            "Lead Source": source,
            "Occupation": occupation,
            "TotalVisits": np.where(hide_visits, rng.choice(["-", ""], n), visits.astype(int).astype(str)),
            "Minutes On Website": minutes,
            "Do Not Email": np.where(no_email, "Yes", "No"),
            "City": rng.choice(["Mumbai", "Pune", "Thane", "Select"], n),
            "Country": rng.choice(["India", "United States", ""], n, p=[0.8, 0.1, 0.1]),
            "Contact Email": [f"lead{i}@example{i % 7}.com" for i in range(n)],
            "Notes": [" ".join(rng.choice(WORDS, 5)) + f" #{i}" for i in range(n)],
            "Converted": (rng.random(n) < p).astype(int),
        }
    )
    # the CRM's stage exported beside the outcome: a copy of it, known only once the lead was closed
    frame["Stage"] = np.where(frame["Converted"] == 1, "Closed Won", "Closed Lost")
    return frame, p


# --- the rules, on values alone -------------------------------------------------------------------------


def test_the_json_object_becomes_typed_attr_columns():
    objs = pd.Series(['{"Budget": 12000, "Rating": "Hot"}', None, {"Budget": 7.5, "Rating": " Cold "}, "{}"])
    frame = attributes.expand(objs)
    assert list(frame.columns) == ["attr:Budget", "attr:Rating"]
    assert frame["attr:Budget"].dtype == float and frame["attr:Budget"].iloc[0] == 12000.0
    assert np.isnan(frame["attr:Budget"].iloc[1]) and frame["attr:Rating"].tolist() == ["Hot", None, "Cold", None]
    # a column typed numeric in one import and categorical in another is categorical
    mixed = attributes.expand(pd.Series([{"Score": 5}, {"Score": "high"}]))
    assert mixed["attr:Score"].tolist() == ["5", "high"]


def test_identifiers_emails_free_text_and_protected_columns_are_left_out_with_a_reason():
    n = 40
    frame = pd.DataFrame(
        {
            "attr:Lead Number": np.arange(n, dtype=float) + 1000,
            "attr:Prospect ID": [f"p-{i:04x}" for i in range(n)],
            "attr:Work Email": [f"x{i}@a.io" for i in range(n)],
            "attr:Notes": [f"called on day {i} about pricing" for i in range(n)],
            "attr:Won": ["yes", "no"] * (n // 2),
            "attr:Source": ["Ads", "Referral", "Direct", "Select"] * (n // 4),
            "attr:Minutes": np.round(np.linspace(0, 30, n), 1),
            "attr:Visits": np.arange(n, dtype=float) % 7,
            "attr:Empty": [None] * n,
            "attr:Region": ["EU"] * n,
            "seniority": ["vp"] * n,  # a standard feature: not an attribute, never judged here
        }
    )
    out = attributes.exclusions(frame, {" WON": "the outcome itself (import outcomes --outcome): leakage"})
    assert out == {
        "attr:Lead Number": "identifier: a different whole number on every lead",
        "attr:Prospect ID": "identifier: a different value on every lead",
        "attr:Work Email": "email addresses: personal data, never a feature",
        "attr:Notes": f"free text: {n} different values in {n} leads",
        "attr:Won": "the outcome itself (import outcomes --outcome): leakage",
        "attr:Empty": "always missing",
        "attr:Region": "the same value on every lead",
    }


def test_a_column_that_reproduces_the_outcome_is_leakage_and_a_strong_feature_is_not():
    rng = np.random.default_rng(3)
    n = 2_000
    y = (rng.random(n) < 0.3).astype(int)
    near = np.where(rng.random(n) < 0.002, 1 - y, y)  # a status column with a few typos
    strong = np.where(rng.random(n) < 0.15, 1 - y, y)  # a feature that agrees with the outcome 85% of the time
    frame = pd.DataFrame(
        {
            "attr:Status": np.where(near == 1, "Won", "Lost"),
            "attr:Deal Value": np.where(y == 1, rng.gamma(2.0, 5_000.0, n), np.nan),  # only won deals have one
            "attr:Refunded": np.where(y == 1, 0.0, np.nan),  # missing on every lost lead
            "attr:Lead Source": np.where(strong == 1, "Referral", "Ads"),
            "attr:Visits": strong * 3.0 + rng.poisson(2, n),
            "attr:Ticket": [f"T{i % 400}" for i in range(n)],  # 400 rare values: pure by rarity alone
            "pricing_views": y * 10.0,  # a built-in feature: kept as of the decision by the snapshots, not judged here
        }
    )
    copies = attributes.outcome_copies(frame, y)
    assert set(copies) == {"attr:Status", "attr:Deal Value", "attr:Refunded"}
    assert copies["attr:Status"].startswith("tells the outcome for 99.") and "leakage" in copies["attr:Status"]
    # too few converted leads to tell a copy from a strong feature: nothing is refused
    few = np.zeros(n, dtype=int)
    few[:5] = 1
    assert attributes.outcome_copies(frame.assign(**{"attr:Status": np.where(few == 1, "Won", "Lost")}), few) == {}


def test_a_reason_names_the_attribute_and_its_value():
    assert attributes.word("attr:Lead Source", numeric=False)("Referral") == "Lead Source = Referral"
    assert attributes.word("attr:TotalVisits", numeric=True)(5.0) == "TotalVisits = 5"
    assert attributes.word("attr:City", numeric=False)(None) == "City unknown"


def test_a_scored_lead_and_its_snapshot_carry_the_same_attribute_columns():
    now = pd.Timestamp("2026-11-15", tz="UTC")
    mart = pd.DataFrame({"lead_id": ["ld_1"], "pricing_views": [2], "custom_attributes": ['{"Lead Source": "Ads"}']})
    in_memory = snapshot_features(mart, now)
    stored = features_frame(pd.Series(['{"pricing_views": 2, "custom_attributes": {"Lead Source": "Ads"}}']))
    assert in_memory.to_dict("list") == stored.to_dict("list") == {"pricing_views": [2], "attr:Lead Source": ["Ads"]}


# --- a lead list imported, outcomes imported from the same file, trained through the CLI ----------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("attributes")
    (root / "inbox").mkdir()
    settings = LeadgateSettings(db=root / "lg.duckdb", inbox=root / "inbox", lock_timeout=5, _env_file=None)
    frame, p = propensity_list(LEADS, seed=5)
    path = root / "leads.csv"
    frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
    runner = CliRunner()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LEADGATE_DB", str(settings.db_path))
        out = {}
        for step, args in {
            "leads": ["import", "leads", str(path), "--key", "Lead Number"],
            "outcomes": ["import", "outcomes", str(path), "--key", "Lead Number", "--outcome", "Converted"],
            "train": ["model", "train"],
        }.items():
            result = runner.invoke(app, args)
            assert result.exit_code == 0, result.output
            out[step] = result.output
    version = re.search(r"^version: (\S+)$", out["train"], re.M).group(1)
    return settings, frame, p, out, version


def test_a_list_never_scored_trains_on_its_attributes_close_to_the_propensitys_own_auc(trained):
    settings, frame, p, out, version = trained
    assert f"{LEADS} outcomes recorded" in out["outcomes"] and "0 rejected" in out["outcomes"]
    with db.connect(settings) as con:
        rec = registry.get(con, version)
        split = dict(
            con.execute(
                "select r.list_key, s.part from scoring.model_split s join raw.lead_list_records r using (lead_id)"
                " where s.version = ?",
                [version],
            ).fetchall()
        )
    assert rec["training"]["rows"] == LEADS  # every outcome found its list lead
    test = frame["Lead Number"].astype(str).map(split).eq("test").to_numpy()
    oracle = metrics.auc(frame["Converted"].to_numpy()[test], p[test])
    model_auc = rec["metrics"]["heldout"]["roc_auc"]
    print(f"held-out AUC {model_auc:.4f}, the propensity's own {oracle:.4f}")
    assert f"ROC AUC {model_auc:.3f}" in out["train"]
    assert model_auc >= oracle - 0.03, (model_auc, oracle)
    features = set(rec["training"]["features"])
    assert {"attr:Lead Source", "attr:Occupation", "attr:TotalVisits", "attr:Minutes On Website"} <= features
    assert "country" in features or "country" in rec["training"]["dropped"]  # mapped by name: a standard field


def test_the_outcome_identifiers_emails_and_free_text_are_no_features_and_train_says_why(trained):
    settings, _, _, out, version = trained
    with db.connect(settings) as con:
        training = registry.get(con, version)["training"]
    excluded, n = training["excluded"], training["train_rows"]  # decided on the training rows
    assert excluded == {
        "attr:Contact Email": "email addresses: personal data, never a feature",
        "attr:Converted": "the outcome itself (import outcomes --outcome): leakage",
        "attr:Notes": f"free text: {n} different values in {n} leads",
        "attr:Prospect ID": "identifier: a different value on every lead",
        "attr:Stage": "tells the outcome for 100.0% of the training leads: a copy or a consequence of it (leakage)",
    }
    assert "5 custom attributes are not features:" in out["train"]
    assert "  attr:Converted: the outcome itself (import outcomes --outcome): leakage" in out["train"]
    assert "TotalVisits (numeric)" in out["leads"] and "Lead Source (categorical)" in out["leads"]


def test_reasons_name_the_attribute_that_drives_the_propensity(trained):
    settings, _, _, _, version = trained
    with db.connect(settings) as con:
        model = registry.load(con, version)
        rows = training_rows(con)
    leads = features_frame(rows["features"])
    _, _, points = model.probability_points(leads)
    importance = dict(zip(model.names, np.abs(points).mean(axis=0)))
    top = sorted(importance, key=importance.get, reverse=True)[:3]
    assert "attr:Lead Source" in top, top
    listed = reasons(model, leads, points, top=3)
    referral = np.flatnonzero(leads["attr:Lead Source"].eq("Referral").to_numpy())
    details = [r["detail"] for i in referral for r in listed[i] if r["feature"] == "attr:Lead Source"]
    assert details and all(re.fullmatch(r"Lead Source = Referral: \+0\.\d\d", d) for d in details), details[:3]
