"""Steps reused by many endpoints, and the machinery that runs them."""

from .action import Action, Endpoint, Step, action, asgi_action
from .client_auth import AUTH_METHODS, client_auth, read_credentials
from .context import Context
from .form import FORM_CONTENT_TYPE, parse_form, read_body
from .no_store import no_store
from .reject_duplicates import REPEATABLE, reject_duplicates

__all__ = [
    "AUTH_METHODS",
    "FORM_CONTENT_TYPE",
    "REPEATABLE",
    "Action",
    "Context",
    "Endpoint",
    "Step",
    "action",
    "asgi_action",
    "client_auth",
    "no_store",
    "parse_form",
    "read_body",
    "read_credentials",
    "reject_duplicates",
]
