"""The structured answers the model must give, sent as a strict `json_schema` response format."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Qualification = Literal["qualified", "nurture", "unknown"]
IntentCategory = Literal["pricing", "demo", "partnership", "support", "job_seeker", "vendor_pitch", "spam", "other"]
Sentiment = Literal["positive", "neutral", "negative", "unknown"]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Evidence(_Answer):
    quotes: list[str] = Field(description="fragments copied exactly from the lead's messages")
    features: list[str] = Field(description="names of the fields relied on")


class LeadAnswer(_Answer):
    """The model's assessment of one lead."""

    lead_id: str
    qualification: Qualification
    intent_category: IntentCategory
    fit_score: float = Field(ge=0, le=1)
    intent_score: float = Field(ge=0, le=1)
    confidence: float = Field(ge=0, le=1)
    evidence: Evidence
    missing_information: list[str]
    exception_reason: str | None
    sentiment: Sentiment
    summary: str = Field(description="two sentences about the business need, for a human reviewer")


class ScoreBatchAnswer(_Answer):
    """One answer per lead in the request."""

    answers: list[LeadAnswer]


class ValidatorVerdict(_Answer):
    """The stricter second check of one first answer."""

    lead_id: str
    agrees: bool
    qualification: Qualification
    confidence: float = Field(ge=0, le=1)
    reason: str


class ValidateBatchAnswer(_Answer):
    verdicts: list[ValidatorVerdict]
