"""`Moderation`: the one object the request path talks to (prompt, input images, output images).

It owns the order of checks: organisation rules first (they hold at every level and even with the
classifiers switched off), then the classifiers. Heavy models load in :meth:`Moderation.load`, once,
under a lock, so the service can call it from a worker thread at start-up; a check that arrives first
loads them itself rather than letting anything through unchecked.
"""

from __future__ import annotations

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
        self.enabled = enabled
        self._prompts = prompts
        self._images = images
        self._rules = rules
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: ModerationSettings) -> Moderation:
        """Cheap: compiles rules and word lists; models load in :meth:`load`."""
        prompt_thresholds = Thresholds(settings.prompt_auto_threshold, settings.prompt_low_threshold)
        image_thresholds = ImageThresholds(settings.image_auto_threshold, settings.image_low_threshold)
        return cls(
            enabled=settings.enabled,
            prompts=PromptModerator(prompt_thresholds),
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
            return Verdict(blocked=True, level=strictness.value, rule=rule.name, reason=rule.reason)
        if not self.enabled:
            return Verdict.allowed(strictness)
        self._ready()
        return self._prompts.check(text, strictness, allowed=self._rules.strip_allowed(text, organization))

    def check_image(self, image: Image.Image, level: str | Strictness = Strictness.AUTO) -> Verdict:
        """Verdict on an input or output image at `level`."""
        strictness = Strictness.parse(level)
        if not self.enabled:
            return Verdict.allowed(strictness)
        self._ready()
        return self._images.check(image, strictness)
