"""What goes wrong with Content Credentials; every provenance module raises these, so they sit lowest."""

from __future__ import annotations

from gazo.errors import GazoError


class ProvenanceError(GazoError):
    """Signing or reading Content Credentials failed; the image must not leave unsigned (HTTP 500)."""

    code = "provenance_failed"


class ProvenanceConfigError(ProvenanceError):
    """The signing identity is unusable (broken, mismatched or expired certificate); raised at start-up."""

    code = "provenance_misconfigured"
