"""What gazo says about an image: the C2PA manifest definition, built as plain data (no c2pa calls here).

A generation is one `c2pa.created` action with IPTC's ``trainedAlgorithmicMedia``; an edit opens its first
input (``parentOf``), places the others (``componentOf``) and records `c2pa.edited` with
``compositeWithTrainedAlgorithmicMedia``. Every manifest carries the CAWG training-and-data-mining assertion
that makes gazo's data-use promise machine-readable. The prompt is written only when the operator allows it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
TRAINED_ALGORITHMIC_MEDIA = IPTC + "trainedAlgorithmicMedia"
COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA = IPTC + "compositeWithTrainedAlgorithmicMedia"
GENERATOR_NAME = "gazo"
#: CAWG training-and-data-mining entries; all `notAllowed`: outputs are not offered for anyone's training.
TRAINING_AND_MINING_USES = (
    "cawg.ai_generative_training",
    "cawg.ai_training",
    "cawg.ai_inference",
    "cawg.data_mining",
)
EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}

#: An extra action: a name such as ``"c2pa.resized"`` or a full action object.
ExtraAction = str | Mapping[str, Any]


@dataclass(frozen=True)
class Ingredient:
    """An input image of an edit. If it carries Content Credentials, they become part of the new history."""

    data: bytes = field(repr=False)
    mime: str
    title: str


@dataclass(frozen=True)
class ManifestPlan:
    """A manifest definition for `c2pa.Builder` and the ingredient definitions to add beside it, in order."""

    definition: dict[str, Any]
    ingredients: list[tuple[dict[str, Any], Ingredient]]


def software_agent(version: str, model: str) -> dict[str, str]:
    """The v2 `softwareAgent` (a claim-generator-info map): which gazo and which model made the pixels."""
    return {"name": f"{GENERATOR_NAME} {version} (model {model})", "version": version}


def plan_manifest(
    *,
    version: str,
    model: str,
    mime: str,
    ingredients: Sequence[Ingredient] = (),
    prompt: str | None = None,
    extra_actions: Sequence[ExtraAction] = (),
    title: str | None = None,
) -> ManifestPlan:
    """The manifest for one output image: a generation without ingredients, an edit with them.

    `prompt` is written as the main action's `description` when given; the caller decides whether the
    operator allows that.
    """
    agent = software_agent(version, model)
    ids = [f"ingredient_{index}" for index in range(len(ingredients))]
    actions: list[dict[str, Any]] = []
    if ingredients:
        actions.append({"action": "c2pa.opened", "parameters": {"ingredientIds": ids[:1]}})
        if len(ids) > 1:
            actions.append({"action": "c2pa.placed", "parameters": {"ingredientIds": ids[1:]}})
        main = {"action": "c2pa.edited", "digitalSourceType": COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA}
    else:
        main = {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}
    main["softwareAgent"] = agent
    if prompt:
        main["description"] = prompt
    actions.append(main)
    actions.extend(_action(extra, agent) for extra in extra_actions)
    kind = "edited" if ingredients else "generated"
    definition = {
        "claim_generator_info": [{"name": GENERATOR_NAME, "version": version}],
        "title": title or f"{kind}.{EXTENSIONS.get(mime, 'img')}",
        "format": mime,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": "cawg.training-mining", "data": {"entries": _training_mining()}},
        ],
    }
    planned = [
        (
            {
                "title": item.title,
                "relationship": "parentOf" if index == 0 else "componentOf",
                "label": ids[index],
            },
            item,
        )
        for index, item in enumerate(ingredients)
    ]
    return ManifestPlan(definition=definition, ingredients=planned)


def _action(extra: ExtraAction, agent: dict[str, str]) -> dict[str, Any]:
    if isinstance(extra, str):
        return {"action": extra, "softwareAgent": agent}
    return {"softwareAgent": agent, **extra}


def _training_mining() -> dict[str, dict[str, str]]:
    return {use: {"use": "notAllowed"} for use in TRAINING_AND_MINING_USES}
