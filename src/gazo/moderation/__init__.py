"""Moderation: every prompt, input image and output image is checked, locally, before and after rendering.

    moderation = Moderation.from_settings(settings.moderation)
    moderation.load()                                   # once, at start-up (a worker thread is fine)
    verdict = moderation.check_prompt(prompt, level="auto", organization=org)
    verdict = moderation.check_image(image, level="auto")
    if verdict.blocked: raise ContentPolicyViolation(verdict.reason)

See `policy.py` for how `auto` and `low` differ, `prompts.py` / `images.py` for the classifiers,
`rules.py` for operators' own rules, and `data/` for the labelled prompts, word lists and weights.
"""

from gazo.moderation.base import CATEGORIES, Strictness, Verdict
from gazo.moderation.moderator import Moderation

__all__ = ["CATEGORIES", "Moderation", "Strictness", "Verdict"]
