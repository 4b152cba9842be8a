"""Security headers and request-body limits, as pure ASGI middlewares.

Both wrap ``send``/``receive`` instead of subclassing ``BaseHTTPMiddleware``, so streamed
responses and request bodies pass through chunk by chunk.

:class:`SecurityHeadersMiddleware` adds to every HTTP response (unless the route set them):

- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer``;
- a ``Content-Security-Policy``: strict for the dashboard's HTML (:data:`DASHBOARD_CSP`), a
  narrow one for FastAPI's Swagger UI (``/docs``) and ReDoc (``/redoc``) pages that allows exactly
  the assets those pages load, and ``default-src 'none'`` for everything else (JSON cannot
  render anything). Every policy carries ``frame-ancestors 'none'``;
- ``Strict-Transport-Security`` only on requests that arrived over TLS (``scope["scheme"]`` is
  ``https``; behind a proxy, run uvicorn with ``--proxy-headers`` so the scheme is right).

The Swagger UI page bootstraps itself with an inline script whose text depends on the app's
settings. Rather than allowing every inline script, the middleware buffers those small pages
and allows the SHA-256 hash of each inline script it finds. It must therefore sit inside any
compression middleware (the docs pages are read uncompressed).

:class:`BodySizeLimitMiddleware` answers ``413`` with an ``application/problem+json`` body when
the declared ``Content-Length`` exceeds the limit, and stops a streamed (chunked) body as soon
as the bytes received pass it, without reading the rest.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
from collections.abc import Iterable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "API_CSP",
    "DASHBOARD_CSP",
    "REDOC_CSP",
    "REPORT_CSP",
    "SWAGGER_UI_CSP",
    "BodySizeLimitMiddleware",
    "SecurityHeadersMiddleware",
]

# Assets loaded by fastapi.openapi.docs.get_swagger_ui_html / get_redoc_html with their defaults.
SWAGGER_UI_JS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
SWAGGER_UI_CSS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"
REDOC_JS = "https://cdn.jsdelivr.net/npm/redoc@2/bundles/redoc.standalone.js"
FASTAPI_FAVICON = "https://fastapi.tiangolo.com/img/favicon.png"
GOOGLE_FONTS_CSS = "https://fonts.googleapis.com/css"
GOOGLE_FONTS_FILES = "https://fonts.gstatic.com/s/"

DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""Policy of the dashboard's HTML: nothing but the app's own origin (WebSockets included)."""

SWAGGER_UI_CSP = (
    f"default-src 'none'; script-src {SWAGGER_UI_JS}; "
    # Swagger UI injects <style> elements at run time, so inline styles must be allowed.
    f"style-src {SWAGGER_UI_CSS} 'unsafe-inline'; "
    # Its stylesheet draws icons as data: SVG images.
    f"img-src 'self' data: {FASTAPI_FAVICON}; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""Policy of ``/docs``; the hashes of the page's inline scripts are added per response."""

REDOC_CSP = (
    f"default-src 'none'; script-src {REDOC_JS}; "
    # ReDoc's styled-components insert <style> elements; the search index runs in a blob: worker.
    f"style-src {GOOGLE_FONTS_CSS} 'unsafe-inline'; font-src {GOOGLE_FONTS_FILES}; "
    f"img-src 'self' {FASTAPI_FAVICON}; worker-src blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""Policy of ``/redoc``."""

REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""Policy of backtest tear sheets: inline styles and SVG only, no scripts, nothing fetched."""

API_CSP = "default-src 'none'; frame-ancestors 'none'"
"""Policy of every response that is not HTML (JSON, files)."""

HSTS_MAX_AGE = 63_072_000  # two years, the usual preload-list minimum is one

_INLINE_SCRIPT = re.compile(
    r"<script(?P<attributes>(?:\s[^>]*)?)>(?P<body>.*?)</script\s*>", re.IGNORECASE | re.DOTALL
)
_SRC_ATTRIBUTE = re.compile(r"\ssrc\s*=", re.IGNORECASE)
_DOCS_PAGE_LIMIT = 1 << 20  # never buffer more than this to hash a docs page


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def inline_script_hashes(html: str) -> list[str]:
    """Return the CSP source expressions (``'sha256-...'``) of the inline scripts in ``html``.

    The browser hashes the script text as parsed, where CR LF and CR have become LF.
    """
    hashes: list[str] = []
    for match in _INLINE_SCRIPT.finditer(html):
        if _SRC_ATTRIBUTE.search(match["attributes"]):
            continue
        text = match["body"].replace("\r\n", "\n").replace("\r", "\n")
        digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
        source = f"'sha256-{digest}'"
        if source not in hashes:
            hashes.append(source)
    return hashes


def _with_script_hashes(policy: str, hashes: list[str]) -> str:
    if not hashes:
        return policy
    directives = [part.strip() for part in policy.split(";")]
    for index, directive in enumerate(directives):
        if directive.split(" ", 1)[0] == "script-src":
            directives[index] = " ".join([directive, *hashes])
            break
    else:
        directives.append(" ".join(["script-src", *hashes]))
    return "; ".join(directives)


class SecurityHeadersMiddleware:
    """Add security headers to every HTTP response.

    Parameters
    ----------
    app:
        The ASGI application to wrap.
    hsts:
        Send ``Strict-Transport-Security`` on HTTPS requests.
    hsts_max_age:
        Its ``max-age`` in seconds (``includeSubDomains`` is always set).
    csp:
        Policy of HTML responses outside the docs pages (default :data:`DASHBOARD_CSP`).
    docs_path, redoc_path:
        Paths of the Swagger UI and ReDoc pages (``None`` when disabled). The Swagger UI OAuth2
        redirect page (``<docs_path>/oauth2-redirect``) gets the Swagger UI policy too.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        hsts: bool = True,
        hsts_max_age: int = HSTS_MAX_AGE,
        csp: str = DASHBOARD_CSP,
        docs_path: str | None = "/docs",
        redoc_path: str | None = "/redoc",
    ) -> None:
        self.app = app
        self.hsts = hsts
        self.hsts_value = f"max-age={hsts_max_age}; includeSubDomains".encode()
        self.csp = csp
        self._docs: dict[str, str] = {}
        if docs_path:
            self._docs[docs_path] = SWAGGER_UI_CSP
            self._docs[docs_path.rstrip("/") + "/oauth2-redirect"] = SWAGGER_UI_CSP
        if redoc_path:
            self._docs[redoc_path] = REDOC_CSP

    def _docs_policy(self, scope: Scope) -> str | None:
        path: str = scope.get("path", "")
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        return self._docs.get(path)

    def _headers(self, scope: Scope, message: Message, policy: str) -> list[tuple[bytes, bytes]]:
        headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
        present = {key.lower() for key, _ in headers}
        wanted: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
            (b"content-security-policy", policy.encode("latin-1")),
        ]
        if self.hsts and scope.get("scheme") == "https":
            wanted.append((b"strict-transport-security", self.hsts_value))
        headers.extend((key, value) for key, value in wanted if key not in present)
        return headers

    def _policy_for(self, message: Message) -> str:
        content_type = _header(message.get("headers", []), b"content-type") or b""
        return self.csp if content_type.lower().startswith(b"text/html") else API_CSP

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs_policy = self._docs_policy(scope)
        if docs_policy is not None:
            await self._docs_page(scope, receive, send, docs_policy)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._headers(scope, message, self._policy_for(message))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs_page(self, scope: Scope, receive: Receive, send: Send, policy: str) -> None:
        start: Message | None = None
        chunks: list[bytes] = []
        size = 0
        passthrough = False

        async def flush(final: Message | None) -> None:
            assert start is not None
            body = b"".join(chunks)
            hashes: list[str] = []
            encoding = _header(start.get("headers", []), b"content-encoding")
            if encoding in (None, b"identity"):
                hashes = inline_script_hashes(body.decode("utf-8", errors="replace"))
            start["headers"] = self._headers(scope, start, _with_script_hashes(policy, hashes))
            await send(start)
            more = final is None or bool(final.get("more_body", False))
            await send({"type": "http.response.body", "body": body, "more_body": more})

        async def buffered_send(message: Message) -> None:
            nonlocal start, size, passthrough
            if passthrough:
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                size += len(chunks[-1])
                if not message.get("more_body", False):
                    await flush(message)
                elif size > _DOCS_PAGE_LIMIT:
                    passthrough = True
                    await flush(None)
            else:
                await send(message)

        await self.app(scope, receive, buffered_send)


class _BodyTooLarge(Exception):
    """Raised inside ``receive`` to stop the application reading an oversized body."""


class BodySizeLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with ``413 Content Too Large``.

    A declared ``Content-Length`` above the limit is refused before the application runs. A body
    without one (chunked) is counted as it arrives; once it passes the limit, the application's
    next read fails, whatever response it tries to send is replaced by the 413, and the rest of
    the body is never read. Only a response the application had already started before the
    limit was reached cannot be replaced; that connection is simply closed.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope.get("headers", []), b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        received = 0
        exceeded = False
        app_started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal app_started
            if exceeded and not app_started:
                return  # the 413 goes out instead of whatever the app answers
            if message["type"] == "http.response.start":
                app_started = True
            await send(message)

        with contextlib.suppress(_BodyTooLarge):
            await self.app(scope, counting_receive, guarded_send)
        if exceeded and not app_started:
            await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        limit = self.max_bytes
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": "Request body too large",
            "status": 413,
            "detail": (
                f"The request body is larger than the server's limit of {limit} bytes "
                f"({_human(limit)}). Send a smaller body, for example by splitting the data "
                "into several requests or uploading fewer rows at a time."
            ),
            "instance": scope.get("path", ""),
            "limit_bytes": limit,
        }
        request_id = scope.get("state", {}).get("request_id")
        if request_id:
            body["request_id"] = request_id
        payload = orjson.dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(payload)).encode()),
                    # The unread rest of the body makes the connection unusable.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _human(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    value = size / 1024
    for unit in ("KiB", "MiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
