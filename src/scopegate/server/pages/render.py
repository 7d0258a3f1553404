"""HTML pages: Jinja2 templates (autoescaped), security headers, and page helpers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from ...scopes import Catalog

__all__ = ["PAGE_HEADERS", "Link", "ScopeRow", "allow_image", "client_ip", "message_page",
           "page", "safe_next", "scope_rows"]

_env = Environment(loader=PackageLoader("scopegate.server.pages", "templates"),
                   autoescape=select_autoescape(["html"]), auto_reload=False)

# No script, no external asset, no framing; forms may post (and redirect) anywhere our
# authorization flow sends them, so form-action is left open.
PAGE_HEADERS: dict[str, str] = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class ScopeRow:
    """One line of a consent list."""

    name: str
    description: str
    already: bool = False


@dataclass(frozen=True, slots=True)
class Link:
    """Where an error page sends the person next (a local path or a checked URL)."""

    href: str
    label: str


def page(template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with ``context`` into an uncacheable, unframeable page."""
    html = _env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)


def message_page(title: str, text: str, *, status: int = 200, error_code: str | None = None,
                 next_step: str | None = None, back: Link | None = None) -> HTMLResponse:
    """A page that only says something (a result, or an error we cannot redirect).

    :param next_step: what the person can do now (shown under ``text``).
    :param back: a link to where that can be done (the app's home, the flow's start).
    """
    return page("message.html", status=status, title=title, text=text, error_code=error_code,
                is_error=status >= 400, next_step=next_step, back=back)


def allow_image(response: HTMLResponse, source: str) -> HTMLResponse:
    """Let ``response`` load images from ``source`` only (a CSP source expression)."""
    response.headers["Content-Security-Policy"] += f"; img-src {source}"
    return response


def scope_rows(catalog: Catalog, scopes: Iterable[str],
               already: Iterable[str] = ()) -> list[ScopeRow]:
    """Consent lines for ``scopes``, each with its catalog description, sorted by name."""
    before = frozenset(already)
    rows = []
    for name in sorted(scopes):
        description = catalog.get(name).description if name in catalog else ""
        rows.append(ScopeRow(name, description, catalog.covers(before, [name])))
    return rows


def client_ip(request: Request) -> str:
    """The peer address (the rate-limit key for pages)."""
    return request.client.host if request.client else "unknown"


def safe_next(value: str | None, default: str = "/device") -> str:
    """A same-origin path to go to after login; anything else falls back to ``default``."""
    if (not value or not value.startswith("/") or value.startswith("//")
            or "\\" in value or len(value) > 4096 or any(ord(c) < 32 for c in value)):
        return default
    return value
