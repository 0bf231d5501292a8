"""Azure OpenAI's routes onto gazo's own: `/openai/deployments/{deployment}/...` and `/openai/v1/...`.

(The route rewriting middleware is being written; `deployment_of` is the contract routes rely on.)
"""

from __future__ import annotations

from starlette.requests import Request

#: Where the rewriting puts the deployment an Azure route named, in `scope["state"]`.
DEPLOYMENT_STATE_KEY = "azure_deployment"


def deployment_of(request: Request) -> str | None:
    """The model an Azure `/openai/deployments/{deployment}/...` route named, or None on other routes.

    Azure selects the model by the deployment in the path; the body's `model` (if any) gives way to it."""
    deployment: str | None = request.scope.get("state", {}).get(DEPLOYMENT_STATE_KEY)
    return deployment
