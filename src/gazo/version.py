"""gazo's version, in one place (C2PA `claim_generator_info`, `/v1/models`, the CLI)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gazo")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
