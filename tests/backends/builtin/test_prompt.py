"""Prompts in English and Japanese become designs (subjects, colours, moods, styles, layout, text)."""

from __future__ import annotations

import numpy as np

from gazo.backends.builtin.layout import plan_layout
from gazo.backends.builtin.lexicon import COLOURS
from gazo.backends.builtin.prompt import parse_prompt


def test_english_prompt_yields_subjects_counts_colours_styles_and_text() -> None:
    design = parse_prompt(
        "A poster of a red fox and two blue birds in a snowy forest, flat style, "
        "with the text 'WINTER SALE' at the top"
    )
    assert [(s.phrase, s.count, s.colour) for s in design.subjects] == [
        ("fox", 1, COLOURS["red"]),
        ("birds", 2, COLOURS["blue"]),
    ]
    assert design.text == ["WINTER SALE"]
    assert design.text_position == "top"
    assert set(design.moods) == {"winter", "forest"}
    assert set(design.styles) == {"poster", "flat"}


def test_colour_before_background_colours_the_background_not_a_subject() -> None:
    design = parse_prompt("A red apple on a blue background")
    assert design.background_colour == COLOURS["blue"]
    assert design.subjects[0].phrase == "apple" and design.subjects[0].colour == COLOURS["red"]


def test_layout_words_apply_to_the_subjects_unless_the_clause_is_about_text() -> None:
    design = parse_prompt('a cat on the left, "HELLO" at the bottom')
    assert design.subject_position == "left"
    assert design.text_position == "bottom"


def test_japanese_prompt_yields_nouns_colours_counters_and_bracketed_text() -> None:
    design = parse_prompt("ピンクの背景にかわいい猫と三匹の魚、上に『ねこまつり』")
    assert design.background_colour == COLOURS["pink"]
    assert [(s.phrase, s.count) for s in design.subjects] == [("cat", 1), ("fish", 3)]
    assert design.text == ["ねこまつり"]
    assert design.text_position == "top"


def test_unknown_japanese_nouns_are_kept_for_the_icon_annotations() -> None:
    design = parse_prompt("夕焼けの海に白いクジラと観覧車")
    assert design.moods == ["sunset", "ocean"]
    assert design.subjects[0].phrase == "whale" and design.subjects[0].colour == COLOURS["white"]
    assert design.subjects[1].phrase == "観覧車" and design.subjects[1].japanese


def test_removal_is_recognised_in_both_languages() -> None:
    assert parse_prompt("get rid of the car").remove
    assert parse_prompt("remove the person").remove
    assert parse_prompt("背景の車を消して").remove
    assert not parse_prompt("a car in the city").remove


def test_apostrophes_and_plain_words_are_not_quoted_text() -> None:
    design = parse_prompt("I'm happy: it's a dog's toy")
    assert design.text == []
    assert [s.phrase for s in design.subjects] == ["dog toy"]


def test_text_goes_opposite_a_placed_subject() -> None:
    design = parse_prompt('Neon banner that says "OPEN 24/7", a hot coffee on the left')
    layout = plan_layout(design, (1536, 1024), [0], np.random.default_rng(0))
    assert layout.text_box is not None and layout.text_box[0] > 1536 / 2
    assert layout.spots[0].x < 1536 / 2
