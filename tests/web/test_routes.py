"""The playground router alone: `/`, `/static/...`, the files the page needs, nothing outside the folder."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from gazo.api.errors import install_error_handlers
from gazo.api.routes import web


@pytest.fixture(scope="module")
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(web.router)
    return TestClient(app)


def test_root_serves_the_page_with_relative_asset_urls(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert 'src="static/app.js"' in page.text and 'href="static/app.css"' in page.text


def test_every_module_the_page_imports_is_served_as_javascript(client: TestClient) -> None:
    pending, seen = ["app.js"], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        response = client.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/javascript")
        assert response.headers["x-content-type-options"] == "nosniff"
        imports = re.findall(r'from "\./([\w.-]+\.js)"', response.text)
        pending += [module for module in imports if module not in seen]
    assert {"api.js", "ui.js", "editor.js"} <= seen
    assert client.get("/static/app.css").headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(
    "path", ["/static/missing.js", "/static/.hidden", "/static/..%2Fapi%2Fapp.py", "/static/a//b"]
)
def test_anything_else_is_a_404_in_openai_shape(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
