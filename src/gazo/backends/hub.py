"""Loading and downloading diffusers pipelines from a local folder or a Hugging Face hub id.

The loading path is the real one, ``DiffusionPipeline.from_pretrained``, so a tiny test folder and a
production SDXL checkout go through the same code. Hub ids are looked up in gazo's own cache first
(``local_files_only``) so that a model pulled once never needs the network again. A `.safetensors` or
`.ckpt` source is a single-file checkpoint, loaded by `single_file` with ``from_single_file``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import torch
from huggingface_hub import constants as hub_constants
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ModelUnavailable(RuntimeError):
    """The model's weights are not on this machine and cannot be fetched."""


def is_local_folder(source: str) -> bool:
    return Path(source).expanduser().is_dir()


def quiet_loading_bars() -> None:
    """Turn off diffusers' "Loading pipeline components" and transformers' "Loading weights" / "Writing
    model shards" bars (shown again with `--log-level debug`).

    They are not log records but tqdm bars on stderr, drawn for every component of every model at each
    start: on a terminal they push gazo's own lines away, in a log file they become long lines of
    carriage returns. Loading from disk takes seconds and gazo logs when each model is ready, so they
    tell nothing. huggingface_hub's download bars (`gazo pull`, a model fetched on first load) are
    left as they were; so are every library's warnings and errors.
    """
    if logger.isEnabledFor(logging.DEBUG):
        return
    from diffusers.utils import logging as diffusers_logging
    from huggingface_hub import utils as hub_utils
    from transformers.utils import logging as transformers_logging

    download_bars = not hub_utils.are_progress_bars_disabled()
    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()  # which turns huggingface_hub's off too
    if download_bars:
        hub_utils.enable_progress_bars()


def load_pipeline(source: str, *, cache_dir: Path, offline: bool, dtype: torch.dtype) -> Any:
    """`from_pretrained` on a folder, or on a hub id from the cache (downloading only when allowed);
    `from_single_file` on a `.safetensors` / `.ckpt` file, local or `owner/repo/file` (`single_file`)."""
    quiet_loading_bars()
    if is_single_file(source):
        from gazo.backends.single_file import load_single_file  # it imports this module

        return load_single_file(source, cache_dir=cache_dir, offline=offline, dtype=dtype)
    from diffusers import DiffusionPipeline  # here: importing diffusers costs seconds a process

    if is_local_folder(source):
        return DiffusionPipeline.from_pretrained(str(Path(source).expanduser()), dtype=dtype)
    return from_cache_or_hub(
        lambda local_only: DiffusionPipeline.from_pretrained(
            source, dtype=dtype, cache_dir=cache_dir, local_files_only=local_only
        ),
        source,
        cache_dir=cache_dir,
        offline=offline,
    )


def from_cache_or_hub(
    fetch: Callable[[bool], T],
    source: str,
    *,
    cache_dir: Path,
    offline: bool,
    what: str = "model",
    unavailable: str | None = None,
) -> T:
    """`fetch(True)` (gazo's cache only); when that fails, `fetch(False)` (download) if downloads are
    allowed and the hub answers, else `ModelUnavailable`: `unavailable`, or a message naming the
    `gazo pull` that would fix it."""
    try:
        return fetch(True)
    except OSError as cached_error:  # huggingface_hub's LocalEntryNotFoundError is one
        if offline or not hub_reachable():
            raise ModelUnavailable(
                unavailable
                or f"{what} {source!r} is not in {cache_dir} and the hub cannot be reached; "
                f"run `gazo pull {source}` on a connected machine and copy the data dir"
            ) from cached_error
    logger.info("downloading %s into %s", source, cache_dir)
    return fetch(False)


def is_single_file(source: str) -> bool:
    return source.lower().endswith((".safetensors", ".ckpt"))


def hub_reachable(timeout_s: float = 3.0) -> bool:
    if hub_constants.is_offline_mode():
        return False
    try:
        httpx.head(hub_constants.ENDPOINT, timeout=timeout_s)
    except httpx.HTTPError:
        return False
    return True


def download_pipeline(hub_id: str, *, cache_dir: Path) -> Path:
    """Fetch a pipeline's files into gazo's cache (tqdm progress bars); fails at once when offline."""
    if is_local_folder(hub_id):
        raise ModelUnavailable(f"{hub_id!r} is a local folder: configure it as a model's `source` instead")
    check_hub_reachable()
    from diffusers import DiffusionPipeline

    try:
        return Path(DiffusionPipeline.download(hub_id, cache_dir=cache_dir))
    except (OSError, httpx.HTTPError, HfHubHTTPError) as error:
        raise ModelUnavailable(f"could not download {hub_id}: {error}") from error


def download_file(repo_id: str, filename: str, *, cache_dir: Path) -> Path:
    """Fetch one file of a hub repo into gazo's cache (tqdm progress bar); fails at once when offline."""
    check_hub_reachable()
    try:
        return Path(hf_hub_download(repo_id, filename, cache_dir=cache_dir))
    except (OSError, httpx.HTTPError, HfHubHTTPError) as error:
        raise ModelUnavailable(f"could not download {filename} of {repo_id}: {error}") from error


def check_hub_reachable() -> None:
    if not hub_reachable():
        offline = " (HF_HUB_OFFLINE is set)" if hub_constants.is_offline_mode() else ""
        raise ModelUnavailable(
            f"cannot reach {hub_constants.ENDPOINT}{offline}: `gazo pull` needs the network "
            "(no download attempted)"
        )
