"""`Moderation`: the one object the request path talks to (prompt, input images, output images).

It owns the order of checks: organisation rules first (they hold at every level and even with the
classifiers switched off), then the classifiers. Heavy models load in :meth:`Moderation.load`, once,
under a lock, so the service can call it from a worker thread at start-up; a check that arrives first
loads them itself rather than letting anything through unchecked.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from PIL import Image

from gazo.moderation.base import Strictness, Verdict
from gazo.moderation.images import ImageModerator, ImageThresholds
from gazo.moderation.policy import Thresholds
from gazo.moderation.prompts import PromptModerator
from gazo.moderation.rules import OrganizationRules

if TYPE_CHECKING:
    from gazo.settings import ModerationSettings

logger = logging.getLogger(__name__)


def _logged(verdict: Verdict, subject: str) -> Verdict:
    """Tell the operator what decided a block (component, category or rule, level, whether it was an
    evasive spelling); the prompt itself is never logged, and none of this reaches the client."""
    if verdict.blocked:
        what = f"category {verdict.category}" if verdict.category else f"rule {verdict.rule}"
        evasion = ", after undoing an evasive spelling" if verdict.normalised else ""
        logger.info(
            "moderation: %s blocked by %s (%s, level %s%s)",
            subject,
            verdict.component,
            what,
            verdict.level,
            evasion,
        )
    return verdict


class Moderation:
    """Prompt and image moderation for one deployment; thread-safe after construction."""

    def __init__(
        self,
        *,
        enabled: bool,
        prompts: PromptModerator,
        images: ImageModerator,
        rules: OrganizationRules,
    ) -> None:
        """Prefer :meth:`from_settings`; this takes ready parts (tests, the bench's before/after)."""
        self.enabled = enabled
        self._prompts = prompts
        self._images = images
        self._rules = rules
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: ModerationSettings, *, normalise: bool = True) -> Moderation:
        """Cheap: compiles rules and word lists; models load in :meth:`load`. `normalise=False` reads
        prompts only as written, without undoing evasive spellings (for before/after comparisons)."""
        prompt_thresholds = Thresholds(settings.prompt_auto_threshold, settings.prompt_low_threshold)
        image_thresholds = ImageThresholds(settings.image_auto_threshold, settings.image_low_threshold)
        return cls(
            enabled=settings.enabled,
            prompts=PromptModerator(prompt_thresholds, normalise=normalise),
            images=ImageModerator(image_thresholds),
            rules=OrganizationRules.from_settings(settings.rules, settings.allow),
        )

    def load(self) -> None:
        """Load the text and image models (about 1 s); does nothing when disabled or already loaded."""
        if not self.enabled:
            return
        with self._lock:
            if not self._prompts.loaded:
                self._prompts.load()
            if not self._images.loaded:
                self._images.load()

    def _ready(self) -> None:
        if not (self._prompts.loaded and self._images.loaded):
            self.load()

    def check_prompt(
        self, text: str, level: str | Strictness = Strictness.AUTO, organization: str | None = None
    ) -> Verdict:
        """Verdict on a prompt at `level` (`auto` | `low`) for the caller's `organization`."""
        strictness = Strictness.parse(level)
        rule = self._rules.blocking_rule(text, organization)
        if rule is not None:
            verdict = Verdict(
                blocked=True, level=strictness.value, rule=rule.name, reason=rule.reason, component="rule"
            )
            return _logged(verdict, "prompt")
        if not self.enabled:
            return Verdict.allowed(strictness)
        self._ready()
        verdict = self._prompts.check(text, strictness, allowed=self._rules.strip_allowed(text, organization))
        return _logged(verdict, "prompt")

    def check_image(self, image: Image.Image, level: str | Strictness = Strictness.AUTO) -> Verdict:
        """Verdict on an input or output image at `level`."""
        strictness = Strictness.parse(level)
        if not self.enabled:
            return Verdict.allowed(strictness)
        self._ready()
        return _logged(self._images.check(image, strictness), "image")
