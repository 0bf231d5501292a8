"""Tiny, randomly initialised pipelines with the real diffusers architectures, built offline.

Tests and the built-in demo model need pipelines that go through exactly the code path of a real
checkpoint (``DiffusionPipeline.from_pretrained(folder)``, ``AutoPipelineFor*.from_pipe``) without
downloading gigabytes. The components here are the real classes with tiny widths; the tokenizers are
the real vocabularies (CLIP) or a small real-format one (T5), built in code so no hub is contacted.

Speed choices: the VAE has four blocks, so latents are 1/8 of the image like real models (a
two-block VAE makes 1024 px latents 16x larger and tests ~10x slower); attention sits only at the
lowest resolution of the UNet.
"""

from __future__ import annotations

import gzip
import importlib.util
import shutil
import string
import tempfile
from functools import lru_cache
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DiffusionPipeline,
    EulerDiscreteScheduler,
    FlowMatchEulerDiscreteScheduler,
    FluxKontextPipeline,
    FluxPipeline,
    FluxTransformer2DModel,
    SD3Transformer2DModel,
    StableDiffusion3Pipeline,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file
from transformers import (
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTextModelWithProjection,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
    T5Config,
    T5EncoderModel,
    T5Tokenizer,
)

ARCHITECTURES: tuple[str, ...] = ("sd", "sdxl", "flux", "sd3")
#: Pipelines that edit with reference images natively (no img2img or inpainting siblings).
EDIT_ARCHITECTURES: tuple[str, ...] = ("flux-kontext",)

CLIP_WIDTH = 16  # hidden size of each tiny CLIP text encoder; its 49,408-row embedding dominates size
T5_WIDTH = 32  # SD3 pads the two CLIP widths side by side to the T5 width, so ≥ 2 * CLIP_WIDTH
CLIP_MAX_LENGTH = 77
T5_MAX_LENGTH = 512
_T5_WORDS = "an the of in on with and photo picture painting cat dog man woman red blue green sky tree"


# --- tokenizers ---------------------------------------------------------------------------------


def _bytes_to_unicode() -> list[str]:
    """GPT-2/CLIP byte-level alphabet in vocabulary order: printable bytes first, then the rest remapped."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), 256)]
    others = [b for b in range(256) if b not in printable]
    return [chr(b) for b in printable] + [chr(256 + i) for i in range(len(others))]


@lru_cache(maxsize=1)
def _clip_vocab_and_merges() -> tuple[dict[str, int], tuple[tuple[str, str], ...]]:
    """The real CLIP BPE (49,408 tokens) from open_clip's vocabulary file.

    open_clip is installed ``--no-deps`` only for this file; importing it would import torchvision,
    so the file is located through the import system without executing the package.
    """
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the CLIP vocabulary needs `pip install --no-deps open_clip_torch`")
    path = Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"
    lines = gzip.decompress(path.read_bytes()).decode("utf-8").split("\n")
    pairs = (line.split() for line in lines[1 : 49152 - 256 - 2 + 1])  # skip the header
    merges = tuple((first, second) for first, second in pairs)
    alphabet = _bytes_to_unicode()
    tokens = [*alphabet, *(c + "</w>" for c in alphabet), *("".join(m) for m in merges)]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {tok: i for i, tok in enumerate(tokens)}, merges


def _clip_tokenizer(pad_token: str = "<|endoftext|>") -> CLIPTokenizer:
    """CLIP ViT-L (SD, first of SDXL/SD3) pads with end-of-text; OpenCLIP bigG (second) pads with "!"."""
    vocab, merges = _clip_vocab_and_merges()
    return CLIPTokenizer(
        vocab=dict(vocab),
        # transformers annotates `merges` as list[str]; the tokenizers BPE under it takes (a, b) pairs
        merges=list(merges),  # type: ignore[arg-type]
        pad_token=pad_token,
        model_max_length=CLIP_MAX_LENGTH,
    )


def _t5_tokenizer() -> T5Tokenizer:
    """A small Unigram vocabulary in T5's layout (pad, eos, unk first; 100 sentinel ids appended).

    Every printable ASCII character is a piece, so English prompts never hit ``<unk>``; a few whole
    words keep common prompts short.
    """
    chars = string.ascii_letters + string.digits + string.punctuation
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(c, -5.0) for c in chars] + [("▁" + c, -4.0) for c in chars]
    pieces += [("▁" + w, -1.0) for w in _T5_WORDS.split()]
    return T5Tokenizer(vocab=pieces, extra_ids=100, model_max_length=T5_MAX_LENGTH)


# --- model components ---------------------------------------------------------------------------


def _clip_text_encoder(with_projection: bool) -> CLIPTextModel | CLIPTextModelWithProjection:
    """Two layers, because SDXL reads the penultimate hidden state."""
    config = CLIPTextConfig(
        vocab_size=49408,
        hidden_size=CLIP_WIDTH,
        intermediate_size=2 * CLIP_WIDTH,
        projection_dim=CLIP_WIDTH,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=CLIP_MAX_LENGTH,
        bos_token_id=49406,
        eos_token_id=49407,
        pad_token_id=49407,
    )
    return (CLIPTextModelWithProjection if with_projection else CLIPTextModel)(config).eval()


def _t5_encoder(tokenizer: T5Tokenizer) -> T5EncoderModel:
    config = T5Config(
        vocab_size=len(tokenizer),  # must cover the 100 sentinel ids appended by the tokenizer
        d_model=T5_WIDTH,
        d_kv=8,
        d_ff=2 * T5_WIDTH,
        num_layers=1,
        num_heads=4,
        relative_attention_num_buckets=8,
        feed_forward_proj="gated-gelu",
        is_encoder_decoder=False,
    )
    return T5EncoderModel(config).eval()


def _vae(latent_channels: int, scaling_factor: float, shift_factor: float | None = None) -> AutoencoderKL:
    """Four blocks → 8x downscale; flow models (16 channels) have no quant convs, like the real ones."""
    flow = latent_channels == 16
    return AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(4, 4, 8, 8),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=4,
        sample_size=64,
        scaling_factor=scaling_factor,
        shift_factor=shift_factor,
        mid_block_add_attention=False,
        force_upcast=False,  # else SDXL img2img casts the VAE it shares with the source pipeline to fp32
        use_quant_conv=not flow,
        use_post_quant_conv=not flow,
    ).eval()


def _unet(cross_attention_dim: int, **extra: object) -> UNet2DConditionModel:
    """``sample_size=8`` makes the default output 64 px; ``attention_head_dim`` is really the head count."""
    return UNet2DConditionModel(
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        block_out_channels=(16, 32),
        layers_per_block=1,
        norm_num_groups=8,
        cross_attention_dim=cross_attention_dim,
        attention_head_dim=2,
        **extra,
    ).eval()


def _euler() -> EulerDiscreteScheduler:
    """SD's training schedule; "trailing" spacing keeps 1-4 step runs and img2img strength sensible."""
    return EulerDiscreteScheduler(
        num_train_timesteps=1000,
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        timestep_spacing="trailing",
        steps_offset=1,
    )


# --- pipelines ----------------------------------------------------------------------------------


def _build_sd() -> StableDiffusionPipeline:
    return StableDiffusionPipeline(
        vae=_vae(4, 0.18215),
        text_encoder=_clip_text_encoder(with_projection=False),
        tokenizer=_clip_tokenizer(),
        unet=_unet(CLIP_WIDTH),
        scheduler=_euler(),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )


def _build_sdxl() -> StableDiffusionXLPipeline:
    time_embed_dim = 8
    unet = _unet(
        2 * CLIP_WIDTH,  # both encoders' hidden states side by side
        addition_embed_type="text_time",
        addition_time_embed_dim=time_embed_dim,
        projection_class_embeddings_input_dim=6 * time_embed_dim + CLIP_WIDTH,  # 6 size ids + pooled
    )
    return StableDiffusionXLPipeline(
        vae=_vae(4, 0.13025),
        text_encoder=_clip_text_encoder(with_projection=False),
        text_encoder_2=_clip_text_encoder(with_projection=True),
        tokenizer=_clip_tokenizer(),
        tokenizer_2=_clip_tokenizer(pad_token="!"),
        unet=unet,
        scheduler=_euler(),
    )


def _build_flux() -> FluxPipeline:
    transformer = FluxTransformer2DModel(
        in_channels=64,  # 16 latent channels packed 2x2
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=T5_WIDTH,
        pooled_projection_dim=CLIP_WIDTH,
        axes_dims_rope=(4, 6, 6),  # must sum to attention_head_dim
    ).eval()
    tokenizer_2 = _t5_tokenizer()
    return FluxPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, shift=3.0),
        vae=_vae(16, 0.3611, 0.1159),
        text_encoder=_clip_text_encoder(with_projection=False),
        tokenizer=_clip_tokenizer(),
        text_encoder_2=_t5_encoder(tokenizer_2),
        tokenizer_2=tokenizer_2,
        transformer=transformer,
    )


def _build_flux_kontext() -> FluxKontextPipeline:
    """FLUX.1 Kontext: the FLUX components, with the edited and reference images as extra tokens."""
    return FluxKontextPipeline(**_build_flux().components)


def _build_sd3() -> StableDiffusion3Pipeline:
    transformer = SD3Transformer2DModel(
        sample_size=8,
        patch_size=2,
        in_channels=16,
        num_layers=1,
        attention_head_dim=8,
        num_attention_heads=2,
        joint_attention_dim=T5_WIDTH,
        caption_projection_dim=16,  # must equal heads x head dim
        pooled_projection_dim=2 * CLIP_WIDTH,  # both CLIP projections side by side
        out_channels=16,
        pos_embed_max_size=128,  # longest side ≤ 128 x 16 = 2048 px
    ).eval()
    tokenizer_3 = _t5_tokenizer()
    return StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        vae=_vae(16, 1.5305, 0.0609),
        text_encoder=_clip_text_encoder(with_projection=True),
        tokenizer=_clip_tokenizer(),
        text_encoder_2=_clip_text_encoder(with_projection=True),
        tokenizer_2=_clip_tokenizer(pad_token="!"),
        text_encoder_3=_t5_encoder(tokenizer_3),
        tokenizer_3=tokenizer_3,
    )


_BUILDERS = {
    "sd": _build_sd,
    "sdxl": _build_sdxl,
    "flux": _build_flux,
    "flux-kontext": _build_flux_kontext,
    "sd3": _build_sd3,
}


def build_tiny_pipeline(arch: str, seed: int = 0) -> DiffusionPipeline:
    """A tiny random pipeline of the real class for `arch`; the same seed gives identical weights."""
    if arch not in _BUILDERS:
        raise ValueError(f"`arch` must be one of {', '.join(_BUILDERS)}, got {arch!r}")
    torch.manual_seed(seed)  # components are built in a fixed order, so one seed fixes every weight
    return _BUILDERS[arch]()


def save_tiny_pipeline(arch: str, out_dir: str | Path, seed: int = 0) -> Path:
    """Build and ``save_pretrained`` a tiny pipeline as a hub-style folder; returns `out_dir`.

    The folder is written beside `out_dir` first and swapped in, so an earlier tiny folder is replaced
    whole (no stale components from another architecture) and a crash never leaves half a model.
    A non-empty folder that is not a pipeline is refused rather than deleted.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not (out / "model_index.json").exists():
        raise ValueError(f"`out_dir` {str(out)!r} is not empty and has no model_index.json; not replacing it")
    pipe = build_tiny_pipeline(arch, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        pipe.save_pretrained(staging, safe_serialization=True)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


def save_tiny_ip_adapter(arch: str, out_dir: str | Path, seed: int = 0) -> Path:
    """A random IP-Adapter in the layout `load_ip_adapter` reads (`ip-adapter.safetensors` beside an
    `image_encoder/` folder) for the tiny `arch` UNet ("sd" or "sdxl"); returns `out_dir`."""
    unet = build_tiny_pipeline(arch, seed).unet
    torch.manual_seed(seed)
    cross, embed = unet.config.cross_attention_dim, 16
    tensors = {
        "image_proj.proj.weight": torch.randn(4 * cross, embed) * 0.1,  # 4 image tokens
        "image_proj.proj.bias": torch.zeros(4 * cross),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    widths = unet.config.block_out_channels
    cross_attention = [name for name in unet.attn_processors if not name.endswith("attn1.processor")]
    for index, name in enumerate(cross_attention):  # diffusers numbers them 1, 3, 5, ...
        hidden = _block_width(name, widths)
        for projection in ("to_k_ip", "to_v_ip"):
            tensors[f"ip_adapter.{2 * index + 1}.{projection}.weight"] = torch.randn(hidden, cross) * 0.1
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_file(tensors, out / "ip-adapter.safetensors")
    vision = CLIPVisionConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
        projection_dim=embed,
    )
    CLIPVisionModelWithProjection(vision).eval().save_pretrained(out / "image_encoder")
    return out


def _block_width(processor: str, widths: tuple[int, ...]) -> int:
    """The hidden width at an attention processor, found as diffusers does when it loads an IP-Adapter."""
    if processor.startswith("mid_block"):
        return widths[-1]
    block = int(processor.split(".")[1])
    return list(reversed(widths))[block] if processor.startswith("up_blocks") else widths[block]
