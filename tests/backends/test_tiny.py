"""Tiny pipelines load through the real `from_pretrained` and run every derived task at the asked size."""

from pathlib import Path

import pytest
import torch
from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, DiffusionPipeline
from PIL import Image

from gazo.backends.tiny import ARCHITECTURES, build_tiny_pipeline, save_tiny_pipeline

SIZE = 64
CAT_IDS = [49406, 320, 1125, 539, 320, 2368, 49407]  # open_clip's ids for "a photo of a cat"


@pytest.fixture(scope="module", params=ARCHITECTURES)
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> DiffusionPipeline:
    folder = save_tiny_pipeline(request.param, tmp_path_factory.mktemp(request.param) / "model")
    pipe = DiffusionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _run(pipe: DiffusionPipeline, **inputs: object) -> Image.Image:
    generator = torch.Generator().manual_seed(0)
    return pipe(prompt="a photo of a cat", num_inference_steps=2, generator=generator, **inputs).images[0]


def test_loaded_pipeline_generates_requested_size(loaded: DiffusionPipeline) -> None:
    image = _run(loaded, height=SIZE, width=SIZE, output_type="pil")
    assert isinstance(image, Image.Image)
    assert image.size == (SIZE, SIZE)


def test_derived_img2img_and_inpaint_return_requested_size(loaded: DiffusionPipeline) -> None:
    source = Image.new("RGB", (SIZE, SIZE), (200, 40, 90))
    mask = Image.new("L", (SIZE, SIZE), 0)
    mask.paste(255, (16, 16, 48, 48))
    img2img = AutoPipelineForImage2Image.from_pipe(loaded)
    inpaint = AutoPipelineForInpainting.from_pipe(loaded)
    common = {"height": SIZE, "width": SIZE, "strength": 0.75, "output_type": "pil"}
    assert _run(img2img, image=source, **common).size == (SIZE, SIZE)
    assert _run(inpaint, image=source, mask_image=mask, **common).size == (SIZE, SIZE)


def test_tokenizers_survive_save_and_load(loaded: DiffusionPipeline) -> None:
    pairs = [
        (f"tokenizer{n}", f"text_encoder{n}") for n in ("", "_2", "_3") if hasattr(loaded, f"tokenizer{n}")
    ]
    for tokenizer, encoder in [(getattr(loaded, t), getattr(loaded, e)) for t, e in pairs]:
        assert encoder.config.vocab_size >= len(tokenizer)
        if "T5" in type(tokenizer).__name__:
            assert tokenizer.unk_token_id not in tokenizer("A photo of a cat, 4K!").input_ids
            continue
        padded = tokenizer("a photo of a cat", padding="max_length", max_length=77).input_ids
        assert padded[:7] == CAT_IDS
        # The first CLIP pads with end-of-text, SDXL's and SD3's second (OpenCLIP) one with "!".
        assert set(padded[7:]) <= {tokenizer.pad_token_id}
        assert tokenizer.pad_token in ("<|endoftext|>", "!")


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_same_seed_gives_identical_weights(arch: str) -> None:
    def weights(seed: int) -> dict[str, torch.Tensor]:
        pipe = build_tiny_pipeline(arch, seed=seed)
        modules = {name: c for name, c in pipe.components.items() if isinstance(c, torch.nn.Module)}
        return {f"{m}.{k}": v for m, module in modules.items() for k, v in module.state_dict().items()}

    a, b, other = weights(0), weights(0), weights(1)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["vae.encoder.conv_in.weight"], other["vae.encoder.conv_in.weight"])


def test_unknown_architecture_is_rejected() -> None:
    with pytest.raises(ValueError, match="`arch` must be one of"):
        build_tiny_pipeline("sd2")


def test_save_replaces_an_earlier_tiny_folder_whole(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    save_tiny_pipeline("sd3", folder)
    save_tiny_pipeline("sd", folder)
    assert not (folder / "text_encoder_3").exists()
    assert '"StableDiffusionPipeline"' in (folder / "model_index.json").read_text()


def test_save_refuses_a_folder_that_is_not_a_pipeline(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="`out_dir`"):
        save_tiny_pipeline("sd", tmp_path)
    assert (tmp_path / "notes.txt").exists()
