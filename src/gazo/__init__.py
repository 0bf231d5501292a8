"""gazo (画像): a self-hosted, drop-in replacement for OpenAI's Images API on any diffusers model.

This module is the plugin author's surface; gazo's own modules import from the defining modules.
"""

from gazo.backends.base import BackendOptions, Capabilities, ImageBackend
from gazo.hookspecs import hookimpl
from gazo.jobs import EditJob, GenerateJob, Progress, ProgressFn, RenderedImage, Size
from gazo.version import __version__

__all__ = [
    "BackendOptions",
    "Capabilities",
    "EditJob",
    "GenerateJob",
    "ImageBackend",
    "Progress",
    "ProgressFn",
    "RenderedImage",
    "Size",
    "__version__",
    "hookimpl",
]
