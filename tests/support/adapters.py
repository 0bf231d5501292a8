"""A tiny SD pipeline folder and a random LoRA adapter for it: the stand-in for a brand style."""

from __future__ import annotations

from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict

from gazo.backends.tiny import build_tiny_pipeline

LORA_FILE = "pytorch_lora_weights.safetensors"


def save_tiny_sd_with_lora(root: Path) -> tuple[Path, Path]:
    """(pipeline folder, adapter folder holding `LORA_FILE`) under `root`, built once per `root`."""
    base, lora = root / "tiny-sd", root / "brand-lora"
    if (lora / LORA_FILE).exists():
        return base, lora
    pipe = build_tiny_pipeline("sd")
    pipe.save_pretrained(base, safe_serialization=True)
    config = LoraConfig(
        r=4, lora_alpha=4, init_lora_weights="gaussian", target_modules=["to_q", "to_k", "to_v", "to_out.0"]
    )
    pipe.unet.add_adapter(config, adapter_name="brand")
    torch.manual_seed(1)
    with torch.no_grad():  # lora_B starts at zero: give it weight, or the adapter changes nothing
        for name, parameter in pipe.unet.named_parameters():
            if "lora_B" in name:
                parameter.normal_(0, 0.5)
    layers = get_peft_model_state_dict(pipe.unet, adapter_name="brand")
    StableDiffusionPipeline.save_lora_weights(lora, unet_lora_layers=layers, safe_serialization=True)
    return base, lora
