"""A clarification email drafted by the model: one chat completion, plain text back (the reviewer edits it)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from connectors.llm.client import make_async_client
from connectors.llm.settings import LlmSettings, OpenAISettings
from leadgate.shared.prompt import LEADS_CLOSE, LEADS_OPEN, Prompt

MAX_DRAFT_TOKENS = 400


def draft_email(endpoint: OpenAISettings, llm: LlmSettings, prompt: Prompt, lead_view: dict[str, Any]) -> str:
    """Ask the endpoint for a draft from an already scrubbed lead view; the text as the model wrote it."""

    async def ask() -> str:
        client = make_async_client(endpoint, llm)
        try:
            extra = {} if llm.temperature is None else {"temperature": llm.temperature}
            answer = await client.chat.completions.create(
                model=llm.model,
                max_tokens=MAX_DRAFT_TOKENS,
                **extra,
                messages=[
                    {"role": "system", "content": prompt.system},
                    {
                        "role": "user",
                        "content": f"{LEADS_OPEN}\n{json.dumps(lead_view, ensure_ascii=False)}\n{LEADS_CLOSE}",
                    },
                ],
            )
        finally:
            await client.close()
        return (answer.choices[0].message.content or "").strip()

    return asyncio.run(ask())
