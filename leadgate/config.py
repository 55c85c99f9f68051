"""Settings for leadgate, read once at the edge (CLI, flow entry) and passed inward."""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from leadgate.shared.crms import CrmName
from leadgate.shared.redaction import SecretSettings

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parent
DEFAULT_POLICY = PACKAGE_DIR / "policy" / "default.yaml"
DBT_PROJECT_DIR = REPO_DIR / "dbt_project"
EXPECTATIONS_DIR = REPO_DIR / "expectations"
REFERENCE_DIR = REPO_DIR / "data" / "reference"


class LeadgateSettings(SecretSettings):
    """Core settings (`LEADGATE_*`); a SecretStr field added here is redacted and checked like the others."""

    model_config = SettingsConfigDict(env_prefix="LEADGATE_", env_file=".env", extra="ignore", env_ignore_empty=True)

    db: Path = Path("data/leadgate.duckdb")
    read_db: Path | None = Field(default=None, description="read-only copy published after each run")
    inbox: Path = Path("data/inbox")
    policy: Path = DEFAULT_POLICY
    sync_mode: Literal["shadow", "live"] = "shadow"
    crm: Literal["none", CrmName] = "none"
    scorer: Literal["baseline", "llm"] = "baseline"
    reviewer: str | None = None
    lock_timeout: float = Field(default=20.0, ge=0, description="seconds a writer waits for the database")
    read_copy_interval: float = Field(
        default=5.0, ge=0, description="review decisions republish the read copy at most once per this many seconds"
    )
    run_wait: float = Field(
        default=600.0, ge=0, description="seconds a run waits for another run to finish before it ends as skipped"
    )
    as_of: datetime | None = Field(
        default=None,
        description="score as of this time instead of now (replays, and the bundled sample, which ends 2026-11-15)",
    )

    def scoring_time(self) -> datetime:
        """When engagement decay is measured from: `as_of` if set (no offset means UTC), else now."""
        if self.as_of is None:
            return datetime.now(UTC)
        return self.as_of if self.as_of.tzinfo else self.as_of.replace(tzinfo=UTC)

    @property
    def db_path(self) -> Path:
        return self.db.expanduser().resolve()

    @property
    def read_db_path(self) -> Path:
        if self.read_db is not None:
            return self.read_db.expanduser().resolve()
        main = self.db_path
        return main.with_name(main.stem + ".read" + main.suffix)

    def reviewer_name(self, explicit: str | None = None) -> str:
        if explicit:
            return explicit
        if self.reviewer:
            return self.reviewer
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return os.environ.get("USER", "unknown")


def load_llm_settings() -> tuple[Any, Any]:
    """(LlmSettings, OpenAISettings) from `LEADGATE_LLM_*` and `OPENAI_*`; a bad value is one line naming the variable."""
    from pydantic import ValidationError

    from connectors.llm import LlmConfigError, LlmSettings, OpenAISettings  # imported when the LLM scorer is chosen
    from leadgate.shared.settings_errors import settings_error_line

    try:
        return LlmSettings(), OpenAISettings()
    except ValidationError as exc:
        prefix = "LEADGATE_LLM_" if exc.title == LlmSettings.__name__ else "OPENAI_"
        raise LlmConfigError(settings_error_line(exc, prefix, "invalid LLM setting")) from None


class AlertSettings(SecretSettings):
    """Review alerts to a Slack or Teams incoming webhook (`LEADGATE_ALERT_*`, `LEADGATE_REVIEW_URL`); off without a URL."""

    model_config = SettingsConfigDict(env_prefix="LEADGATE_", env_file=".env", extra="ignore", env_ignore_empty=True)

    alert_webhook_url: SecretStr | None = Field(default=None, description="the webhook (a secret: its path is the key)")
    alert_format: Literal["auto", "slack", "teams"] = "auto"
    alert_timeout: float = Field(
        default=10.0, gt=0, le=60, description="seconds to connect (at most 5) and to wait for the answer"
    )
    review_url: str = Field(default="http://127.0.0.1:8080/", description="the review queue, linked from every alert")
