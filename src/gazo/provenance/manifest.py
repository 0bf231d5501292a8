"""What gazo says about an image: the C2PA manifest definition, built as plain data (no c2pa calls here).

A generation is one `c2pa.created` action with IPTC's ``trainedAlgorithmicMedia``; an edit opens its first
input (``parentOf``), places the others whose pixels went into the image (``componentOf``), lists those
that only guided the model as ``inputTo``, and records `c2pa.edited` with
``compositeWithTrainedAlgorithmicMedia``. A ``gazo.rendering`` assertion says how gazo used the references
and set text, when it did either. Every manifest carries the CAWG training-and-data-mining assertion
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


#: Label of gazo's own assertion: how references were used and text was set (see `plan_manifest`).
RENDERING_LABEL = "gazo.rendering"


@dataclass(frozen=True)
class Ingredient:
    """An input image of an edit. If it carries Content Credentials, they become part of the new history.

    `relationship`: ``parentOf`` (the image edited), ``componentOf`` (placed into it) or ``inputTo``
    (guided the model without being placed); empty = by position, the first ``parentOf``, the others
    ``componentOf``."""

    data: bytes = field(repr=False)
    mime: str
    title: str
    relationship: str = ""


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
    rendering: Mapping[str, Any] | None = None,
) -> ManifestPlan:
    """The manifest for one output image: a generation without ingredients, an edit with them.

    `prompt` is written as the main action's `description` when given; the caller decides whether the
    operator allows that. `rendering`, when given, is written as the `gazo.rendering` assertion.
    """
    agent = software_agent(version, model)
    ids = [f"ingredient_{index}" for index in range(len(ingredients))]
    relationships = [_relationship(item, index) for index, item in enumerate(ingredients)]
    actions: list[dict[str, Any]] = []
    main: dict[str, Any]
    if ingredients:
        actions.append({"action": "c2pa.opened", "parameters": {"ingredientIds": ids[:1]}})
        placed = [ids[i] for i in range(1, len(ids)) if relationships[i] == "componentOf"]
        if placed:
            actions.append({"action": "c2pa.placed", "parameters": {"ingredientIds": placed}})
        main = {"action": "c2pa.edited", "digitalSourceType": COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA}
    else:
        main = {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA}
    main["softwareAgent"] = agent
    if prompt:
        main["description"] = prompt
    actions.append(main)
    actions.extend(_action(extra, agent) for extra in extra_actions)
    kind = "edited" if ingredients else "generated"
    definition: dict[str, Any] = {
        "claim_generator_info": [{"name": GENERATOR_NAME, "version": version}],
        "title": title or f"{kind}.{EXTENSIONS.get(mime, 'img')}",
        "format": mime,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": "cawg.training-mining", "data": {"entries": _training_mining()}},
        ],
    }
    if rendering:
        definition["assertions"].append({"label": RENDERING_LABEL, "data": dict(rendering)})
    planned = [
        ({"title": item.title, "relationship": relationships[index], "label": ids[index]}, item)
        for index, item in enumerate(ingredients)
    ]
    return ManifestPlan(definition=definition, ingredients=planned)


def _relationship(item: Ingredient, index: int) -> str:
    return item.relationship or ("parentOf" if index == 0 else "componentOf")


def _action(extra: ExtraAction, agent: dict[str, str]) -> dict[str, Any]:
    if isinstance(extra, str):
        return {"action": extra, "softwareAgent": agent}
    return {"softwareAgent": agent, **extra}


def _training_mining() -> dict[str, dict[str, str]]:
    return {use: {"use": "notAllowed"} for use in TRAINING_AND_MINING_USES}
