"""gpt-image-1 token accounting: published figures, worked examples, and the usage dict's shape."""

from __future__ import annotations

import threading

import pytest
from openai.types.images_response import Usage

from gazo.billing import tokens
from gazo.billing.tokens import (
    TokenUsage,
    count_text_tokens,
    count_usage,
    image_input_tokens,
    image_output_tokens,
    tile_tokens,
)

# OpenAI's published gpt-image-1 output-token table, size is WxH.
PUBLISHED_OUTPUT = {
    ("low", 1024, 1024): 272,
    ("low", 1024, 1536): 408,
    ("low", 1536, 1024): 400,
    ("medium", 1024, 1024): 1056,
    ("medium", 1024, 1536): 1584,
    ("medium", 1536, 1024): 1568,
    ("high", 1024, 1024): 4160,
    ("high", 1024, 1536): 6240,
    ("high", 1536, 1024): 6208,
}


@pytest.mark.parametrize(("quality", "width", "height"), list(PUBLISHED_OUTPUT))
def test_output_tokens_match_published_table(quality: str, width: int, height: int) -> None:
    assert image_output_tokens(width, height, quality) == PUBLISHED_OUTPUT[(quality, width, height)]


@pytest.mark.parametrize(
    ("width", "height", "quality", "expected"),
    [
        (1536, 864, "low", 14 * 25),  # 864 / 64 = 13.5 rows -> 14
        (1536, 864, "medium", 27 * 49),
        (1536, 864, "high", 54 * 97),
        (2048, 2048, "high", 128 * 129),
        (3840, 2160, "high", 135 * 241),
        (3840, 2160, "low", 34 * 61),  # 2160 / 64 = 33.75 -> 34
        (256, 256, "low", 4 * 5),
        (256, 256, "high", 16 * 17),
        (16, 16, "low", 2),  # one partly covered cell plus its row terminator
    ],
)
def test_output_tokens_extend_with_ceil_division(
    width: int, height: int, quality: str, expected: int
) -> None:
    assert image_output_tokens(width, height, quality) == expected


def test_output_tokens_grow_with_size_and_quality() -> None:
    for quality in ("low", "medium", "high"):
        assert image_output_tokens(1024, 1024, quality) < image_output_tokens(2048, 2048, quality)
    assert (
        image_output_tokens(1536, 864, "low")
        < image_output_tokens(1536, 864, "medium")
        < image_output_tokens(1536, 864, "high")
    )


@pytest.mark.parametrize("quality", ["xhigh", "max"])
def test_xhigh_and_max_bill_as_high(quality: str) -> None:
    for width, height in [(1024, 1024), (1024, 1536), (1536, 1024), (3840, 2160)]:
        assert image_output_tokens(width, height, quality) == image_output_tokens(width, height, "high")


@pytest.mark.parametrize("quality", ["auto", "", "HIGH", "ultra", None])
def test_output_tokens_need_a_concrete_quality(quality: object) -> None:
    with pytest.raises(ValueError, match="quality"):
        image_output_tokens(1024, 1024, quality)  # type: ignore[arg-type]


@pytest.mark.parametrize(("width", "height"), [(0, 1024), (1024, -16), (1024.0, 1024), (True, 1024)])
def test_sizes_must_be_positive_ints(width: object, height: object) -> None:
    with pytest.raises(ValueError):
        image_output_tokens(width, height, "low")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        image_input_tokens(width, height)  # type: ignore[arg-type]


# --- image input tokens ---------------------------------------------------------------------------


def test_tile_rule_reproduces_openai_worked_examples_for_gpt_4o() -> None:
    # The only worked examples OpenAI prints (images-vision guide, gpt-4o: 768 px short side, 85 + 170).
    gpt_4o = {"short_side": 768, "base": 85, "per_tile": 170}
    assert tile_tokens(1024, 1024, **gpt_4o) == 765
    assert tile_tokens(2048, 4096, **gpt_4o) == 1105


def test_input_tokens_for_the_same_examples_under_gpt_image_1() -> None:
    # 1024x1024 -> 512x512 -> 1 tile; 2048x4096 -> 1024x2048 -> 512x1024 -> 2 tiles.
    assert image_input_tokens(1024, 1024) == 65 + 129 == 194
    assert image_input_tokens(2048, 4096) == 65 + 2 * 129 == 323
    assert image_input_tokens(4096, 2048) == 323


@pytest.mark.parametrize(
    ("width", "height", "tiles"),
    [
        (1024, 1025, 1),  # API bills one tile (the calculator's round-up would say two)
        (1025, 1024, 1),
        (1023, 1024, 1),
        (512, 513, 2),  # not shrunk: shortest side is already 512
        (256, 256, 1),  # small images are not enlarged
        (1920, 1080, 2),  # 910x512
        (3840, 2160, 2),
        (4096, 8192, 2),
        (512, 1537, 4),
        (100, 5000, 4),  # 2048 fit -> 40x2048, nothing more to shrink
    ],
)
def test_input_tokens_shrink_only_and_round_down(width: int, height: int, tiles: int) -> None:
    assert image_input_tokens(width, height) == 65 + 129 * tiles


def test_high_fidelity_extra_depends_on_aspect_ratio() -> None:
    assert image_input_tokens(1024, 1024, input_fidelity="high") == 194 + 4160
    assert image_input_tokens(1000, 1024, input_fidelity="high") == 323 + 4160  # 1000x1024 -> 512x524
    assert image_input_tokens(1024, 1280, input_fidelity="high") == 323 + 4160  # 1.25: still square
    assert image_input_tokens(1024, 1536, input_fidelity="high") == 323 + 6240
    assert image_input_tokens(1536, 1024, input_fidelity="high") == 323 + 6240
    assert image_input_tokens(1920, 1080, input_fidelity="high") == 323 + 6240


def test_high_fidelity_extra_only_on_first_image() -> None:
    assert image_input_tokens(1024, 1024, input_fidelity="high", first_image=False) == 194
    assert image_input_tokens(1024, 1024, input_fidelity="low", first_image=True) == 194


def test_unknown_input_fidelity_is_rejected() -> None:
    with pytest.raises(ValueError, match="input_fidelity"):
        image_input_tokens(1024, 1024, input_fidelity="auto")


# --- text tokens ----------------------------------------------------------------------------------


def test_text_tokens_of_known_strings() -> None:
    assert count_text_tokens("hello world") == 2
    assert count_text_tokens("") == 0


def test_special_token_text_is_ordinary_text() -> None:
    assert count_text_tokens("a cat <|endoftext|> and <|fim_prefix|>") > 2


def test_encoding_is_loaded_once_under_concurrency(monkeypatch: pytest.MonkeyPatch) -> None:
    import quicktok

    real = quicktok.get_encoding
    calls: list[str] = []

    def counting(name: str):  # type: ignore[no-untyped-def]
        calls.append(name)
        return real(name)

    monkeypatch.setattr(tokens, "_encoding", None)
    monkeypatch.setattr(quicktok, "get_encoding", counting)
    barrier = threading.Barrier(8)
    results: list[int] = []

    def work() -> None:
        barrier.wait()
        results.append(count_text_tokens("hello world"))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [2] * 8
    assert calls == ["o200k_base"]


# --- usage ----------------------------------------------------------------------------------------


def test_count_usage_generation() -> None:
    usage = count_usage(prompt="hello world", n=1, width=1024, height=1024, quality="low")
    assert usage == TokenUsage(text_input_tokens=2, image_input_tokens=0, image_output_tokens=272)
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (2, 272, 274)


def test_n_multiplies_output_tokens_only() -> None:
    one = count_usage(prompt="hello world", n=1, width=1536, height=1024, quality="high")
    three = count_usage(prompt="hello world", n=3, width=1536, height=1024, quality="high")
    assert three.output_tokens == 3 * one.output_tokens == 3 * 6208
    assert three.input_tokens == one.input_tokens == 2


def test_input_images_add_image_tokens() -> None:
    usage = count_usage(
        prompt="hello world",
        n=2,
        width=1024,
        height=1024,
        quality="medium",
        input_images=[(1024, 1024), (1920, 1080)],
        input_fidelity="high",
    )
    assert usage.image_input_tokens == (194 + 4160) + 323  # extra on the first image only
    assert usage.input_tokens == 2 + 194 + 4160 + 323
    assert usage.output_tokens == 2 * 1056
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_partial_images_cost_100_each() -> None:
    usage = count_usage(prompt="x", n=1, width=1024, height=1024, quality="low", partial_images=2)
    assert usage.output_tokens == 272 + 200


@pytest.mark.parametrize(
    "kwargs",
    [{"n": -1}, {"quality": "auto"}, {"input_fidelity": "medium"}, {"partial_images": -1}, {"width": 0}],
)
def test_count_usage_rejects_bad_arguments(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"prompt": "x", "n": 1, "width": 1024, "height": 1024, "quality": "low"}
    with pytest.raises(ValueError):
        count_usage(**{**args, **kwargs})  # type: ignore[arg-type]


def test_usage_dict_validates_as_openai_usage() -> None:
    usage = count_usage(
        prompt="a red fox in snow", n=2, width=1024, height=1536, quality="high", input_images=[(800, 600)]
    )
    d = usage.to_openai_dict()
    assert set(d) == {
        "input_tokens",
        "input_tokens_details",
        "output_tokens",
        "output_tokens_details",
        "total_tokens",
    }
    parsed = Usage.model_validate(d)
    assert parsed.output_tokens_details is not None
    assert parsed.output_tokens_details.image_tokens == 2 * 6240
    assert parsed.output_tokens_details.text_tokens == 0
    assert parsed.input_tokens_details.text_tokens == count_text_tokens("a red fox in snow")
    assert parsed.input_tokens_details.image_tokens == 65 + 2 * 129
    assert parsed.input_tokens == parsed.input_tokens_details.text_tokens + 323
    assert parsed.total_tokens == parsed.input_tokens + parsed.output_tokens
    assert parsed.model_dump(exclude_none=True) == d


def test_usages_add_and_sum() -> None:
    a = TokenUsage(1, 2, 3)
    b = TokenUsage(10, 20, 30)
    assert a + b == TokenUsage(11, 22, 33)
    assert sum([a, b]) == TokenUsage(11, 22, 33)
    assert sum([], TokenUsage()) == TokenUsage(0, 0, 0)
    assert (a + b).total_tokens == 66


def test_usage_rejects_negative_counts() -> None:
    with pytest.raises(ValueError):
        TokenUsage(text_input_tokens=-1)
