"""Optional prompt rewriting by an operator-configured, OpenAI-compatible chat model (off by default).

OpenAI's image tool lets its chat model write the prompt the image model draws (`revised_prompt`).
gazo has no chat model of its own; an operator who runs one (vLLM, Ollama, LiteLLM, ...) can name it
in `[compat.prompt_rewrite]`. The user's text is moderated before it is sent anywhere, and the
rewrite is moderated again as the prompt of the image request. A rewrite that fails or takes too
long falls back to the user's own text: the request is never refused for it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re

import openai

from gazo.moderation import Moderation
from gazo.service.verdicts import VerdictMetrics
from gazo.settings import PromptRewriteSettings

logger = logging.getLogger(__name__)

#: The longest rewrite used (the Images API's prompt limit); a longer answer is cut there.
MAX_PROMPT_CHARS = 32000
#: Control characters a chat model may answer with (tab and line breaks stay), as the API refuses them.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class PromptRewriter:
    def __init__(
        self, settings: PromptRewriteSettings, moderation: Moderation, verdicts: VerdictMetrics
    ) -> None:
        self.settings = settings
        self.moderation = moderation
        self.verdicts = verdicts
        self._client: openai.AsyncOpenAI | None = None
        if settings.base_url:
            api_key = os.environ.get(settings.api_key_env, "") if settings.api_key_env else ""
            self._client = openai.AsyncOpenAI(
                base_url=settings.base_url,
                api_key=api_key or "none",
                timeout=settings.timeout_s,
                max_retries=0,
            )

    @property
    def enabled(self) -> bool:
        return self._client is not None

    async def rewrite(
        self, prompt: str, *, instructions: list[str], level: str, organization: str | None
    ) -> str:
        """The prompt to draw: the chat model's rewrite of `prompt`, or `prompt` itself."""
        if self._client is None:
            return prompt
        verdict = await asyncio.to_thread(self.moderation.check_prompt, prompt, level, organization)
        self.verdicts.judge(verdict, "prompt", "prompt")
        system = "\n\n".join([self.settings.instructions, *instructions])
        try:
            answer = await self._client.chat.completions.create(
                model=self.settings.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": prompt}],
            )
        except openai.OpenAIError as error:
            logger.warning("prompt rewriting failed (%s); drawing the user's own text", type(error).__name__)
            return prompt
        text = (answer.choices[0].message.content or "").strip() if answer.choices else ""
        text = _CONTROL.sub(" ", text)
        return text[:MAX_PROMPT_CHARS] if text else prompt

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
