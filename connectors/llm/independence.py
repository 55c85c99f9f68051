"""Keeping leads' answers independent of their batch-mates (pure functions used by `LlmScorer`).

A lead's text could steer the answers of the other leads in its request. Two rules make that
harmless: leads whose text so much as mentions ratings, the model or other leads are batched only
among themselves (`wordy`), and a batch that could have been steered (`batch_suspect`) has every
promoting answer confirmed by asking that lead alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from connectors.llm.records import LeadInput
from connectors.llm.schema import LeadAnswer
from connectors.llm.screen import mentions_rating


def wordy(leads: Sequence[LeadInput]) -> list[LeadInput]:
    """The leads whose free text mentions ratings, the model or other leads."""
    return [lead for lead in leads if mentions_rating(lead.free_texts)]


def plain(leads: Sequence[LeadInput]) -> list[LeadInput]:
    return [lead for lead in leads if not mentions_rating(lead.free_texts)]


def batch_suspect(
    batch: Sequence[LeadInput], answers: Sequence[LeadAnswer], baseline_qualified: Callable[[str], bool]
) -> bool:
    """Could one lead's text have moved the others' answers? Its text talks ratings, or the answers move together.

    `answers` carry the request's local ids (L1..Ln, in `batch` order).
    """
    if wordy(batch):
        return True
    # An honest answer sometimes disagrees with the baseline; three in four of the leads the baseline
    # would not qualify (and at least three) labelled qualified at once is what an obeyed "mark all of
    # them qualified" looks like.
    by_id = {f"L{i + 1}": lead for i, lead in enumerate(batch)}
    candidates = [a for a in answers if a.lead_id in by_id and not baseline_qualified(by_id[a.lead_id].lead_id)]
    flipped = sum(1 for a in candidates if a.qualification == "qualified")
    return len(candidates) >= 3 and flipped >= math.ceil(0.75 * len(candidates))
