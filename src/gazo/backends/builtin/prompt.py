"""From a prompt (English, Japanese or both) to a `Design`: what to draw, in which colours, where, what text.

A small rule-based reader, deliberately predictable: words it knows steer colours, mood, style and
layout (`lexicon`, `lexicon_ja`); quoted text is typeset exactly; every other run of words is a
candidate subject that `assets` matches to an icon by meaning, or drops when nothing is close.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gazo.backends.builtin import lexicon as en
from gazo.backends.builtin import lexicon_ja as ja
from gazo.backends.builtin.lexicon import RGB
from gazo.typography.quotes import QUOTES, quoted

_CLAUSES = re.compile(r"[,;.!?\n、。，！？]+")  # noqa: RUF001 - full-width punctuation ends clauses too
_SEGMENTS = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\-]*|[^\x00-\x7f]+")
QUOTED = "\x00"
_KANJI = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Subject:
    """Something to draw: the words for it, how many, an asked-for colour, the language of the words."""

    phrase: str
    count: int = 1
    colour: RGB | None = None
    japanese: bool = False


@dataclass
class Design:
    """Everything the compositor needs to know about the prompt, language-independent."""

    prompt: str
    subjects: list[Subject] = field(default_factory=list)
    colours: list[RGB] = field(default_factory=list)
    background_colour: RGB | None = None
    moods: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    subject_position: str | None = None
    text: list[str] = field(default_factory=list)
    text_position: str | None = None
    border: bool = False
    remove: bool = False

    def has(self, style: str) -> bool:
        return style in self.styles


def parse_prompt(prompt: str) -> Design:
    """Read `prompt` into a `Design` (pure: no model, no randomness)."""
    design = Design(prompt=prompt)
    text = QUOTES.sub(lambda m: _keep_text(design, m), prompt)
    for clause in _CLAUSES.split(text):
        _read_clause(design, clause)
    return design


def _keep_text(design: Design, match: re.Match[str]) -> str:
    design.text.append(quoted(match))
    return f" {QUOTED} "


class _Clause:
    """Reads one clause token by token; colours and counts wait for the noun they describe."""

    def __init__(self, design: Design) -> None:
        self.design = design
        self.words: list[str] = []
        self.japanese = False
        self.count: int | None = None
        self.colour: RGB | None = None
        self.shade = 0.0
        self.layout: str | None = None
        self.mentions_text = False
        self.background = False

    def flush(self) -> None:
        phrase = " ".join(self.words).strip()
        if phrase:
            subject = Subject(phrase, min(self.count or 1, 6), self.colour, self.japanese)
            self.design.subjects.append(subject)
            self.colour = None
        self.words, self.count, self.japanese = [], None, False

    def colour_word(self, rgb: RGB) -> None:
        rgb = shade(rgb, self.shade)
        self.shade = 0.0
        self.design.colours.append(rgb)
        self.colour = rgb

    def background_word(self) -> None:
        """A colour waiting for its noun colours the background when the noun is "background"."""
        self.background, self.words = True, []
        if self.colour is not None:
            self.design.background_colour, self.colour = self.colour, None

    def finish(self) -> None:
        self.flush()
        if self.background and self.colour is not None:
            self.design.background_colour = self.colour
        if self.layout is None:
            return
        if self.mentions_text:
            self.design.text_position = self.design.text_position or self.layout
        elif self.layout != "corner":
            self.design.subject_position = self.design.subject_position or self.layout


def _read_clause(design: Design, clause: str) -> None:
    reader = _Clause(design)
    for segment in _SEGMENTS.findall(clause.replace(QUOTED, " quoted ")):
        if segment.isascii():
            _english(reader, segment.lower())
        else:
            _japanese(reader, segment)
    if QUOTED in clause:
        reader.mentions_text = True
    reader.finish()


def _english(reader: _Clause, word: str) -> None:
    design = reader.design
    word = word.removesuffix("'s")
    if "'" in word:
        return
    pair = f"{reader.words[-1]} {word}" if reader.words else ""
    if pair in en.COLOURS:
        reader.words.pop()
        word = pair
    if word in en.COLOURS:
        reader.flush() if reader.words else None
        reader.colour_word(en.COLOURS[word])
    elif word in en.SHADES:
        reader.shade = en.SHADES[word]
        if word == "dark":
            design.moods.append("night")
    elif word in en.REMOVAL:
        design.remove = True
        reader.flush()
    elif word in en.STYLES:
        design.styles.append(en.STYLES[word])
        reader.flush()
    elif word in en.MOODS:
        design.moods.append(en.MOODS[word])
        reader.flush()
    elif word in en.LAYOUT:
        reader.layout = reader.layout or en.LAYOUT[word]
        reader.flush()
    elif word in en.BORDER_WORDS:
        design.border = True
        reader.flush()
    elif word in en.BACKGROUND_WORDS:
        reader.background_word()
    elif word in en.TEXT_WORDS or word == "quoted":
        reader.mentions_text = True
        reader.flush()
    elif word in en.COUNTS or (word.isdigit() and len(word) <= 2):
        reader.flush()
        reader.count = en.COUNTS.get(word) or int(word)
    elif word in en.STOP_WORDS or len(word) < 2:
        reader.flush()
    else:
        reader.words.append(word)


def _japanese(reader: _Clause, segment: str) -> None:
    """Longest known word at each position; unknown kanji/katakana runs become subjects."""
    position, unknown = 0, ""
    tables = (
        (ja.COLOURS, "colour"),
        (ja.STYLES, "style"),
        (ja.MOODS, "mood"),
        (ja.LAYOUT, "layout"),
        (ja.NOUNS, "noun"),
        (dict.fromkeys(ja.REMOVAL, ""), "remove"),
        (ja.NUMBERS, "number"),
    )
    while position < len(segment):
        found = _longest(segment, position, tables)
        if found is None and segment[position] in ja.BREAKS:
            found = (segment[position], "break", "")
        if found is None:
            filler = next((f for f in ja.FILLERS if segment.startswith(f, position)), None)
            found = (filler, "break", "") if filler else None
        if found is None or (found[1] != "break" and len(found[0]) == 1 and _KANJI.match(unknown[-1:])):
            unknown += segment[position]
            position += 1
            continue
        _unknown_subject(reader, unknown)
        unknown = ""
        word, kind, value = found
        position += len(word)
        if kind == "number" and segment.startswith(ja.COUNTERS, position):
            position += 1
        _apply_japanese(reader, word, kind, value)
    _unknown_subject(reader, unknown)


def _longest(segment: str, position: int, tables: tuple) -> tuple[str, str, object] | None:
    best: tuple[str, str, object] | None = None
    for table, kind in tables:
        for length in range(min(8, len(segment) - position), 0, -1):
            word = segment[position : position + length]
            if word in table and (best is None or length > len(best[0])):
                best = (word, kind, table[word])
                break
    for words, kind in (
        (ja.BORDER_WORDS, "border"),
        (ja.BACKGROUND_WORDS, "background"),
        (ja.TEXT_WORDS, "text"),
    ):
        for word in words:
            if segment.startswith(word, position) and (best is None or len(word) > len(best[0])):
                best = (word, kind, None)
    return best


def _apply_japanese(reader: _Clause, word: str, kind: str, value: object) -> None:
    design = reader.design
    if kind == "colour":
        reader.colour_word(en.COLOURS[str(value)])
    elif kind == "noun":
        reader.words, reader.japanese = [str(value)], False
        reader.flush()
    elif kind == "number":
        reader.count = int(str(value))  # the numbers table maps words to ints
    elif kind == "style":
        design.styles.append(str(value))
    elif kind == "mood":
        design.moods.append(str(value))
    elif kind == "layout":
        reader.layout = reader.layout or str(value)
    elif kind == "remove":
        design.remove = True
    elif kind == "border":
        design.border = True
    elif kind == "background":
        reader.background_word()
    elif kind == "text":
        reader.mentions_text = True


def _unknown_subject(reader: _Clause, run: str) -> None:
    """A run of unknown characters names a subject only when it holds kanji or katakana."""
    if run and re.search(r"[\u30a0-\u30ff\u4e00-\u9fff]", run):  # katakana or kanji
        reader.words, reader.japanese = [run], True
        reader.flush()


def shade(rgb: RGB, amount: float) -> RGB:
    """Lighten (amount > 0, toward white) or darken (amount < 0, toward black)."""
    target = 255 if amount > 0 else 0
    red, green, blue = (round(c + (target - c) * abs(amount)) for c in rgb)
    return red, green, blue
