"""Organisation rules: an operator's own blocked phrases and allow-lists, per deployment or per organisation.

Why separate from the classifier: these encode a business's choices, not harm ("no imitation of
living studios' styles", a competitor's name), so they block whatever the strictness level, always
name the rule that fired, and answer with the operator's own reason. Allow-lists go the other way:
they take phrases that the classifier misreads out of what it reads, so the rest of the prompt is
still checked ("breast cancer awareness" allowed does not let "... and explicit porn" through).

Phrases match whole words, case-insensitively, after Unicode normalisation, with punctuation
treated as space ("Studio-Ghibli" matches "studio ghibli"); CJK phrases match anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from gazo.moderation.lexicon import normalize

_PUNCTUATION = re.compile(r"[^\w]+")


def loosen(text: str) -> str:
    """Normalised text with punctuation runs as single spaces, padded so phrases can match at the ends."""
    return f" {_PUNCTUATION.sub(' ', normalize(text)).strip()} "


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    parts = []
    for phrase in sorted({loosen(p).strip() for p in phrases if p.strip()}, key=len, reverse=True):
        escaped = re.escape(phrase)
        parts.append(rf"(?<!\w){escaped}(?!\w)" if phrase.isascii() else escaped)
    return re.compile("|".join(parts)) if parts else None


def _applies(organizations: frozenset[str], organization: str | None) -> bool:
    return not organizations or organization in organizations


@dataclass(frozen=True)
class OrganizationRule:
    """One blocked-phrase rule: `name` is what a verdict reports, `reason` what the client reads."""

    name: str
    reason: str
    pattern: re.Pattern[str]
    organizations: frozenset[str]


@dataclass(frozen=True)
class AllowList:
    pattern: re.Pattern[str]
    organizations: frozenset[str]


class RuleSpec(Protocol):
    """An organisation rule as the settings hold it (`ModerationSettings.Rule`)."""

    @property
    def name(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def terms(self) -> Sequence[str]: ...
    @property
    def organizations(self) -> Sequence[str]: ...


class AllowListSpec(Protocol):
    """An allow-list as the settings hold it (`ModerationSettings.AllowList`)."""

    @property
    def phrases(self) -> Sequence[str]: ...
    @property
    def organizations(self) -> Sequence[str]: ...


class OrganizationRules:
    """Compiled rules and allow-lists; immutable, so shared by every thread."""

    def __init__(self, rules: list[OrganizationRule], allow_lists: list[AllowList]) -> None:
        self._rules = rules
        self._allow_lists = allow_lists

    @classmethod
    def from_settings(
        cls, rules: Iterable[RuleSpec], allow_lists: Iterable[AllowListSpec]
    ) -> OrganizationRules:
        """Build from `ModerationSettings.rules` / `.allow` entries (anything with those attributes)."""
        compiled: list[OrganizationRule] = []
        for rule in rules:
            pattern = _phrase_pattern(rule.terms)
            if pattern is not None:
                orgs = frozenset(rule.organizations)
                compiled.append(OrganizationRule(rule.name, rule.reason, pattern, orgs))
        allowed: list[AllowList] = []
        for entry in allow_lists:
            pattern = _phrase_pattern(entry.phrases)
            if pattern is not None:
                allowed.append(AllowList(pattern, frozenset(entry.organizations)))
        return cls(compiled, allowed)

    def blocking_rule(self, text: str, organization: str | None = None) -> OrganizationRule | None:
        """The first rule, in configuration order, that applies to `organization` and matches `text`."""
        loose = loosen(text)
        for rule in self._rules:
            if _applies(rule.organizations, organization) and rule.pattern.search(loose):
                return rule
        return None

    def strip_allowed(self, text: str, organization: str | None = None) -> str:
        """`text` without the allow-listed phrases that apply to `organization` (unchanged if none)."""
        loose = loosen(text)
        stripped = loose
        for entry in self._allow_lists:
            if _applies(entry.organizations, organization):
                stripped = entry.pattern.sub(" ", stripped)
        return text if stripped == loose else stripped.strip()
