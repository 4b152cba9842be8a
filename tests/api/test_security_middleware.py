"""SecurityHeadersMiddleware and BodySizeLimitMiddleware on a small FastAPI app."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from quantdesk.api.security import BodySizeLimitMiddleware, SecurityHeadersMiddleware

MAX_BYTES = 1024
calls: dict[str, int] = {"upload": 0}


def build_app() -> FastAPI:
    app = FastAPI(title="security test app")

    @app.get("/items")
    def read_items() -> dict[str, list[int]]:
        return {"items": [1, 2, 3]}

    @app.post("/upload")
    async def create_upload(request: Request) -> dict[str, int]:
        calls["upload"] += 1
        return {"size": len(await request.body())}

    @app.post("/rows")
    def create_rows(rows: list[dict[str, int]]) -> dict[str, int]:
        return {"count": len(rows)}

    @app.get("/dashboard", response_class=HTMLResponse)
    def read_dashboard() -> str:
        return "<!doctype html><html><body><div id='root'></div></body></html>"

    @app.get("/embed")
    def read_embed() -> JSONResponse:
        return JSONResponse({"ok": True}, headers={"Content-Security-Policy": "default-src *"})

    @app.get("/stream")
    def read_stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for index in range(5):
                yield f"chunk-{index};".encode()

        return StreamingResponse(chunks(), media_type="text/plain")

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=MAX_BYTES)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(build_app()) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def tls_client() -> Iterator[TestClient]:
    with TestClient(build_app(), base_url="https://testserver") as test_client:
        yield test_client


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def allowed_by(sources: list[str], url: str) -> bool:
    """Whether ``url`` matches one of the CSP host-source expressions (CSP3 path matching)."""
    parts = urlsplit(url)
    for source in sources:
        if not source.startswith("https://"):
            continue
        expected = urlsplit(source)
        if expected.netloc != parts.netloc:
            continue
        path = expected.path
        if path in ("", "/") or (path.endswith("/") and parts.path.startswith(path)):
            return True
        if parts.path == path:
            return True
    return False


def csp_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


# ---------------------------------------------------------------------------- headers


def test_json_response_headers(client: TestClient) -> None:
    response = client.get("/items")
    assert response.status_code == 200
    assert response.json() == {"items": [1, 2, 3]}
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "no-referrer"
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]


def test_dashboard_html_gets_the_strict_policy(client: TestClient) -> None:
    response = client.get("/dashboard")
    policy = directives(response.headers["content-security-policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]


def test_hsts_only_over_tls(client: TestClient, tls_client: TestClient) -> None:
    assert "strict-transport-security" not in client.get("/items").headers
    secure = tls_client.get("/items")
    assert secure.headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
    assert secure.headers["x-frame-options"] == "DENY"


def test_route_set_headers_win(client: TestClient) -> None:
    response = client.get("/embed")
    assert response.headers.get_list("content-security-policy") == ["default-src *"]
    assert response.headers["x-frame-options"] == "DENY"


def test_streaming_response_passes_through(client: TestClient) -> None:
    response = client.get("/stream")
    assert response.text == "chunk-0;chunk-1;chunk-2;chunk-3;chunk-4;"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_swagger_ui_page_loads_exactly_its_assets(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.text
    policy = directives(response.headers["content-security-policy"])
    scripts = re.findall(r'<script src="([^"]+)"', html)
    styles = re.findall(r'<link type="text/css" rel="stylesheet" href="([^"]+)"', html)
    icons = re.findall(r'<link rel="shortcut icon" href="([^"]+)"', html)
    tags = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    inline = [body for attributes, body in tags if not attributes]
    # The page is the one FastAPI renders: three assets and one inline bootstrap script.
    assert (len(scripts), len(styles), len(icons), len(inline)) == (1, 1, 1, 1)
    assert all(allowed_by(policy["script-src"], url) for url in scripts)
    assert all(allowed_by(policy["style-src"], url) for url in styles)
    assert all(allowed_by(policy["img-src"], url) for url in icons)
    # The bootstrap script is allowed by its hash, not by 'unsafe-inline'.
    assert all(csp_hash(body) in policy["script-src"] for body in inline)
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    # Nothing broader than the page's own files: no bare hosts, schemes or wildcards.
    for name in ("script-src", "style-src", "img-src"):
        for source in policy[name]:
            assert source not in {"*", "https:", "http:", "https://cdn.jsdelivr.net"}, source
    assert policy["connect-src"] == ["'self'"]  # the OpenAPI document and "try it out"
    assert policy["frame-ancestors"] == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"


def test_redoc_page_loads_exactly_its_assets(client: TestClient) -> None:
    response = client.get("/redoc")
    html = response.text
    policy = directives(response.headers["content-security-policy"])
    scripts = re.findall(r'<script src="([^"]+)"', html)
    stylesheets = re.findall(r'<link href="([^"]+)" rel="stylesheet"', html)
    icons = re.findall(r'<link rel="shortcut icon" href="([^"]+)"', html)
    assert (len(scripts), len(stylesheets), len(icons)) == (1, 1, 1)
    assert all(allowed_by(policy["script-src"], url) for url in scripts)
    assert all(allowed_by(policy["style-src"], url) for url in stylesheets)
    assert all(allowed_by(policy["img-src"], url) for url in icons)
    assert allowed_by(policy["font-src"], "https://fonts.gstatic.com/s/roboto/v30/x.woff2")
    assert policy["worker-src"] == ["blob:"]  # ReDoc's search index runs in a blob: worker
    assert "'unsafe-inline'" not in policy["script-src"]
    assert policy["connect-src"] == ["'self'"]


def test_oauth2_redirect_page_inline_script_is_hashed(client: TestClient) -> None:
    response = client.get("/docs/oauth2-redirect")
    policy = directives(response.headers["content-security-policy"])
    inline = re.findall(r"<script>(.*?)</script>", response.text, re.S)
    assert inline
    assert all(csp_hash(body) in policy["script-src"] for body in inline)


# ---------------------------------------------------------------------------- body size


def assert_problem(response_json: dict[str, object]) -> None:
    assert response_json["type"] == "about:blank"
    assert response_json["title"] == "Request body too large"
    assert response_json["status"] == 413
    detail = str(response_json["detail"])
    assert "1024 bytes" in detail
    assert "smaller" in detail


def test_declared_length_over_the_limit_is_refused_unread(client: TestClient) -> None:
    before = calls["upload"]
    response = client.post("/upload", content=b"x" * (MAX_BYTES + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert_problem(response.json())
    assert calls["upload"] == before  # the route never ran
    assert response.headers["x-content-type-options"] == "nosniff"


def test_chunked_body_over_the_limit_is_refused(client: TestClient) -> None:
    def body() -> Iterator[bytes]:
        for _ in range(8):
            yield b"y" * 256  # 2048 bytes in all, no Content-Length

    response = client.post("/upload", content=body())
    assert response.status_code == 413
    assert_problem(response.json())


def test_chunked_body_over_the_limit_on_a_validated_route(client: TestClient) -> None:
    # FastAPI turns a failed body read into a 400; the middleware answers 413 instead.
    def body() -> Iterator[bytes]:
        yield b"["
        for _ in range(200):
            yield b'{"a": 1},'
        yield b'{"a": 1}]'

    response = client.post("/rows", content=body(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert_problem(response.json())


def test_bodies_within_the_limit_are_untouched(client: TestClient) -> None:
    assert client.post("/upload", content=b"z" * MAX_BYTES).json() == {"size": MAX_BYTES}

    def body() -> Iterator[bytes]:
        yield b"a" * 100
        yield b"b" * 100

    assert client.post("/upload", content=body()).json() == {"size": 200}
    assert client.post("/rows", json=[{"a": 1}, {"a": 2}]).json() == {"count": 2}


def test_streamed_body_stops_being_read_once_over_the_limit() -> None:
    """Drive the middleware directly: the rest of a long stream is never pulled."""
    pulled = 0

    async def receive() -> Message:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"q" * 512, "more_body": pulled < 100}

    async def reader(scope: Scope, receive: Receive, send: Send) -> None:
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"read it all"})

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Scope = {"type": "http", "method": "POST", "path": "/upload", "headers": []}
    middleware = BodySizeLimitMiddleware(reader, max_bytes=2048)
    asyncio.run(middleware(scope, receive, send))
    # 4 chunks of 512 bytes reach the limit exactly; the 5th passes it and ends the reading.
    assert pulled == 5
    assert sent[0]["status"] == 413
    assert (b"connection", b"close") in sent[0]["headers"]
    assert b"read it all" not in b"".join(m.get("body", b"") for m in sent)
