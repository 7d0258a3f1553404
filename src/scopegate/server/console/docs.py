"""OpenAPI entries of the console pages (HTML, operators only, CSRF-checked forms)."""

from __future__ import annotations

from typing import Any

from ..management.openapi import form_body, html_responses

__all__ = ["console_get", "console_post"]

_STRING = {"type": "string"}


def console_get(summary: str, operation_id: str,
                query: tuple[str, ...] = ()) -> dict[str, Any]:
    """A console page: 200 for an operator, 303 to sign in, 403 for anyone else."""
    return {"get": {
        "summary": summary, "operationId": operation_id,
        "parameters": [{"name": name, "in": "query", "schema": _STRING} for name in query],
        "responses": {"303": {"description": "Not signed in: to the login page"},
                      **html_responses({200: "The page", 403: "Not an operator",
                                        404: "No such resource"})}}}


def console_post(summary: str, operation_id: str, fields: tuple[str, ...]) -> dict[str, Any]:
    """A console form: done (200 or 303), refused input (400), not allowed (403)."""
    body = form_body({"csrf": _STRING, **{name: _STRING for name in fields}}, ["csrf"])
    return {"post": {
        "summary": summary, "operationId": operation_id, "requestBody": body,
        "responses": {"303": {"description": "Done: back to the page"},
                      **html_responses({200: "Done, with the result", 400: "Refused input",
                                        403: "Not an operator, or the CSRF token does "
                                             "not match"})}}}
