"""Azure OpenAI's routes onto gazo's own, so `openai.AzureOpenAI` clients work unchanged.

`AzureRoutes` rewrites the path before anything else reads it (the gate's per-route body limits, the
router), so the rest of gazo sees only its `/v1/...` routes:

- `/openai/deployments/{deployment}/images/generations|edits|variations` and `.../responses` (the
  SDK's `azure_endpoint=` style; also under `/openai/v1/`) → `/v1/...`, with the deployment kept for
  `deployment_of`: on Azure the deployment, not the body's `model`, selects the model;
- `/openai/v1/<rest>` (Azure's "v1" API) → `/v1/<rest>`;
- `/openai/images/...`, `/openai/responses`, `/openai/models...` (what the SDK calls when an
  operation has no deployment in its path) → `/v1/...`.

On these routes the `api-version` query parameter is accepted with any value and dropped: gazo has one
version, and routes refuse parameters they do not know. Other `/openai/...` paths are left alone and
get the 404 that names what gazo serves.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, unquote_plus

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from gazo.api.errors import REQUESTED_PATH_STATE_KEY, respond
from gazo.errors import InvalidRequest

#: Where the rewriting puts the deployment an Azure route named, in `scope["state"]`.
DEPLOYMENT_STATE_KEY = "azure_deployment"

#: A deployment name, URL-decoded: it becomes the request's model (written to the log and database).
MAX_DEPLOYMENT_CHARS = 100

_DEPLOYMENT_ROUTE = re.compile(
    rb"/openai/(?:v1/)?deployments/(?P<deployment>[^/]*)"
    rb"/(?P<rest>images/(?:generations|edits|variations)|responses)"
)
_V1_ROUTE = re.compile(rb"/openai/v1/(?P<rest>(?!deployments/).+)")
_PLAIN_ROUTE = re.compile(rb"/openai/(?P<rest>(?:images/|responses$|models$|models/).*)")


def deployment_of(request: Request) -> str | None:
    """The model an Azure `/openai/deployments/{deployment}/...` route named, or None on other routes.

    Azure selects the model by the deployment in the path; the body's `model` (if any) gives way to it."""
    deployment: str | None = request.scope.get("state", {}).get(DEPLOYMENT_STATE_KEY)
    return deployment


class AzureRoutes:
    """Pure ASGI middleware (no `BaseHTTPMiddleware`: it must not buffer bodies or break streaming)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/openai/"):
            try:
                scope = rewrite(scope)
            except InvalidRequest as error:
                await respond(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def rewrite(scope: Scope) -> Scope:
    """`scope` with an Azure path turned into gazo's (path, raw path, query); unchanged if not one.

    Matched on the raw path, so a deployment holding an encoded `/` stays one path segment."""
    raw_path: bytes = scope.get("raw_path") or quote(scope["path"]).encode("ascii")
    deployment: str | None = None
    if found := _DEPLOYMENT_ROUTE.fullmatch(raw_path):
        deployment = check_deployment(unquote(found["deployment"].decode("latin-1")))
    elif not (found := _V1_ROUTE.fullmatch(raw_path) or _PLAIN_ROUTE.fullmatch(raw_path)):
        return scope
    new_raw_path = b"/v1/" + found["rest"]
    state = {**scope.get("state", {}), REQUESTED_PATH_STATE_KEY: scope["path"]}
    if deployment is not None:
        state[DEPLOYMENT_STATE_KEY] = deployment
    return {
        **scope,
        "path": unquote(new_raw_path.decode("latin-1")),
        "raw_path": new_raw_path,
        "query_string": without_api_version(scope.get("query_string", b"")),
        "state": state,
    }


def check_deployment(deployment: str) -> str:
    if not 1 <= len(deployment) <= MAX_DEPLOYMENT_CHARS or not deployment.isprintable():
        raise InvalidRequest(
            f"The deployment in the path must be 1-{MAX_DEPLOYMENT_CHARS} printable characters "
            f"(got {len(deployment)}); it names the model, as on Azure OpenAI.",
            param="deployment",
        )
    return deployment


def without_api_version(query_string: bytes) -> bytes:
    """The query without Azure's `api-version` (any spelling of it), the rest byte for byte."""
    kept = [
        part
        for part in query_string.split(b"&")
        if part and unquote_plus(part.partition(b"=")[0].decode("latin-1")) != "api-version"
    ]
    return b"&".join(kept)
