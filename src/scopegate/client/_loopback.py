"""The loopback redirect listener for authorization code + PKCE (RFC 8252 §7.3).

It listens on ``127.0.0.1`` with an OS-assigned port, accepts one ``/callback`` whose
``state`` matches (compared in constant time), and gives up after a timeout.
"""

from __future__ import annotations

import hmac
import http.server
import threading
import urllib.parse
from dataclasses import dataclass

from ._exceptions import AuthenticationError, LoginTimeout

__all__ = ["CallbackResult", "LoopbackListener"]

_DONE_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>scopegate</title>"
    b"<p>You can close this tab and return to the terminal.</p>"
)
_FAIL_PAGE = (
    b"<!doctype html><meta charset=utf-8><title>scopegate</title>"
    b"<p>Login failed; see the terminal.</p>"
)


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """What the authorization server sent to the redirect URI."""

    code: str | None = None
    error: str | None = None
    description: str = ""
    issuer: str | None = None  # RFC 9207 ``iss``


class LoopbackListener:
    """A one-shot HTTP server on 127.0.0.1 that waits for the authorization response."""

    def __init__(self, state: str, path: str = "/callback") -> None:
        self.state = state
        self.path = path
        self._result: CallbackResult | None = None
        self._done = threading.Event()
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def redirect_uri(self) -> str:
        """Return ``http://127.0.0.1:<port>/callback``."""
        return f"http://127.0.0.1:{self.port}{self.path}"

    def __enter__(self) -> LoopbackListener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def close(self) -> None:
        """Release the port of a listener that was never entered."""
        self._server.server_close()

    def _handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        url = urllib.parse.urlsplit(request.path)
        if url.path != self.path or self._done.is_set():
            request.send_response(404)
            request.end_headers()
            return
        query = urllib.parse.parse_qs(url.query, max_num_fields=20)
        state = query.get("state", [""])[0]
        if not hmac.compare_digest(state.encode(), self.state.encode()):
            # A stray or forged request: refuse it and keep waiting for the real one.
            request.send_response(400)
            request.end_headers()
            request.wfile.write(_FAIL_PAGE)
            return
        error = query.get("error", [None])[0]
        code = query.get("code", [None])[0]
        self._result = CallbackResult(
            code=code,
            error=error,
            description=query.get("error_description", [""])[0],
            issuer=query.get("iss", [None])[0],
        )
        ok = error is None and bool(code)
        request.send_response(200 if ok else 400)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.end_headers()
        request.wfile.write(_DONE_PAGE if ok else _FAIL_PAGE)
        self._done.set()

    def wait(
        self, timeout: float, *, issuer: str | None = None, issuer_required: bool = False
    ) -> str:
        """Return the authorization code, or raise on error or timeout.

        :param issuer: when given, an ``iss`` in the response must name it (RFC 9207 §2.4),
            before the code or error is looked at.
        :param issuer_required: the server promised ``iss``; a response without it is refused.
        """
        if not self._done.wait(timeout):
            raise LoginTimeout(f"no browser login within {timeout:g}s; try again or use --device")
        result = self._result
        assert result is not None
        if issuer is not None:
            _check_issuer(result.issuer, issuer, issuer_required)
        if result.error:
            detail = f" ({result.description})" if result.description else ""
            raise AuthenticationError(f"login refused by the server: {result.error}{detail}")
        if not result.code:
            raise AuthenticationError("the login redirect carried no authorization code")
        return result.code


def _check_issuer(received: str | None, expected: str, required: bool) -> None:
    if received is None and not required:
        return
    if received is None or received.rstrip("/") != expected.rstrip("/"):
        raise AuthenticationError(
            f"the login redirect came with iss={received!r}, not the issuer {expected!r}; "
            "refusing the code (RFC 9207, a mix-up attack?)"
        )
