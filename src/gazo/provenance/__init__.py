"""C2PA Content Credentials: every image gazo returns says who made it, with which model, how it was edited.

``service.py`` builds one `Provenance` at start-up (`Provenance.from_settings`) and calls `Provenance.sign` on
every image before it leaves; `Provenance.verify` reads anyone's credentials back for ``gazo verify`` and
``POST /v1/provenance/verify``. Only this package imports ``c2pa``.
"""

from gazo.provenance.identity import ProvenanceConfigError, ProvenanceError, SigningIdentity
from gazo.provenance.manifest import Ingredient
from gazo.provenance.signing import Provenance
from gazo.provenance.verify import (
    ActionInfo,
    IngredientReport,
    SignerInfo,
    ValidationIssue,
    VerificationReport,
)

__all__ = [
    "ActionInfo",
    "Ingredient",
    "IngredientReport",
    "Provenance",
    "ProvenanceConfigError",
    "ProvenanceError",
    "SignerInfo",
    "SigningIdentity",
    "ValidationIssue",
    "VerificationReport",
]
