"""A diffusers SD 1.x pipeline written back as one original-layout (LDM) checkpoint, as community
fine-tunes ship: the inverse of diffusers' own `convert_ldm_*` functions, for any block and layer count
(diffusers' scripts/convert_diffusers_to_original_stable_diffusion.py fixes them at SD's 4 x 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safetensors.torch import save_file

_RESNET = (
    ("norm1", "in_layers.0"),
    ("conv1", "in_layers.2"),
    ("time_emb_proj", "emb_layers.1"),
    ("norm2", "out_layers.0"),
    ("conv2", "out_layers.3"),
    ("conv_shortcut", "skip_connection"),
)
_UNET_LAYERS = {
    "time_embedding.linear_1.": "time_embed.0.",
    "time_embedding.linear_2.": "time_embed.2.",
    "conv_in.": "input_blocks.0.0.",
    "conv_norm_out.": "out.0.",
    "conv_out.": "out.2.",
}


def save_as_single_file(pipeline: Any, path: Path) -> Path:
    """Write `pipeline`'s UNet, VAE and CLIP text encoder as one `.safetensors` in the LDM layout."""
    weights: dict[str, Any] = {}
    for name, tensor in pipeline.unet.state_dict().items():
        weights["model.diffusion_model." + _rename(name, _unet_prefixes(pipeline.unet), _RESNET)] = tensor
    for name, tensor in pipeline.vae.state_dict().items():
        renamed = _rename(name, _vae_prefixes(pipeline.vae), ())
        weights["first_stage_model." + renamed.replace("conv_shortcut", "nin_shortcut")] = tensor
    for name, tensor in pipeline.text_encoder.state_dict().items():
        # the original layout keeps CLIP's `text_model.` prefix, which transformers 5 leaves out
        weights["cond_stage_model.transformer.text_model." + name.removeprefix("text_model.")] = tensor
    save_file({name: tensor.contiguous() for name, tensor in weights.items()}, str(path))
    return path


def _rename(name: str, prefixes: dict[str, str], resnet: tuple[tuple[str, str], ...]) -> str:
    for old, new in prefixes.items():
        if name.startswith(old):
            rest = name[len(old) :]
            if ".resnets." in old:
                for resnet_old, resnet_new in resnet:
                    if rest.startswith(resnet_old + "."):
                        rest = resnet_new + rest[len(resnet_old) :]
            return new + rest
    return name


def _unet_prefixes(unet: Any) -> dict[str, str]:
    layers, prefixes = unet.config.layers_per_block + 1, dict(_UNET_LAYERS)
    for i, block in enumerate(unet.down_blocks):
        for j in range(len(block.resnets)):
            prefixes[f"down_blocks.{i}.resnets.{j}."] = f"input_blocks.{layers * i + j + 1}.0."
            prefixes[f"down_blocks.{i}.attentions.{j}."] = f"input_blocks.{layers * i + j + 1}.1."
        prefixes[f"down_blocks.{i}.downsamplers.0.conv."] = f"input_blocks.{layers * (i + 1)}.0.op."
    for i, block in enumerate(unet.up_blocks):
        for j in range(len(block.resnets)):
            prefixes[f"up_blocks.{i}.resnets.{j}."] = f"output_blocks.{layers * i + j}.0."
            prefixes[f"up_blocks.{i}.attentions.{j}."] = f"output_blocks.{layers * i + j}.1."
        upsampler = 2 if getattr(block, "attentions", None) else 1
        prefixes[f"up_blocks.{i}.upsamplers.0."] = f"output_blocks.{layers * i + layers - 1}.{upsampler}."
    prefixes.update({"mid_block.attentions.0.": "middle_block.1."})
    prefixes.update({f"mid_block.resnets.{j}.": f"middle_block.{2 * j}." for j in range(2)})
    return prefixes


def _vae_prefixes(vae: Any) -> dict[str, str]:
    count = len(vae.encoder.down_blocks)
    prefixes = {f"{part}.conv_norm_out.": f"{part}.norm_out." for part in ("encoder", "decoder")}
    for i in range(count):
        prefixes[f"encoder.down_blocks.{i}.resnets."] = f"encoder.down.{i}.block."
        prefixes[f"encoder.down_blocks.{i}.downsamplers.0."] = f"encoder.down.{i}.downsample."
        prefixes[f"decoder.up_blocks.{i}.resnets."] = f"decoder.up.{count - 1 - i}.block."
        prefixes[f"decoder.up_blocks.{i}.upsamplers.0."] = f"decoder.up.{count - 1 - i}.upsample."
    for part in ("encoder", "decoder"):
        prefixes.update({f"{part}.mid_block.resnets.{j}.": f"{part}.mid.block_{j + 1}." for j in range(2)})
    return prefixes
