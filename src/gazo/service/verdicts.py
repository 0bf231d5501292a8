"""Every moderation verdict of the request path, counted for the operator on `/metrics`.

`gazo_moderation_verdicts_total{stage, level, outcome, category, component}`: which check (the
prompt, an input image, an output image), at which strictness, allowed or blocked, for which
category (or organisation rule) and by which component. What the client learns stays the category
in the error message (`refuse`, below); this is for dashboards and alerts: a jump in blocked
outputs, a rule that never fires, the share of blocks that took de-obfuscation (`component`).
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import CollectorRegistry, Counter, generate_latest

from gazo.errors import ContentPolicyViolation
from gazo.moderation import Verdict

Stage = Literal["prompt", "input_image", "output_image"]


class VerdictMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.verdicts = Counter(
            "gazo_moderation_verdicts",
            "Moderation verdicts by check, level, outcome, category (or rule) and deciding component.",
            ["stage", "level", "outcome", "category", "component"],
            registry=self.registry,
        )

    def judge(self, verdict: Verdict, stage: Stage, param: str | None) -> None:
        """Count `verdict`, then refuse the request if it blocks (`ContentPolicyViolation`)."""
        category = verdict.category or (f"rule:{verdict.rule}" if verdict.rule else "none")
        component = (verdict.component or "none") + ("+normalised" if verdict.normalised else "")
        outcome = "blocked" if verdict.blocked else "allowed"
        self.verdicts.labels(stage, verdict.level, outcome, category, component).inc()
        refuse(verdict, param)

    def export(self) -> bytes:
        return generate_latest(self.registry)


def refuse(verdict: Verdict, param: str | None) -> None:
    """A blocked verdict becomes OpenAI's moderation error; the reason never quotes the prompt."""
    if verdict.blocked:  # logged for the operator where it was decided, with what decided it
        what = f"category {verdict.category}" if verdict.category else f"rule {verdict.rule}"
        message = (  # a category's reason is a whole sentence already; a rule's is the operator's words
            verdict.reason
            if verdict.category
            else f"Your request was rejected by the safety system ({what}): {verdict.reason}"
        )
        raise ContentPolicyViolation(message, param=param)
