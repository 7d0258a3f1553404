"""The flags of ``scopegate serve``: one per server setting, read off the settings model.

The type and the default of each flag come from :class:`~scopegate.server.config.settings.Settings`,
so a flag cannot drift from the setting it sets; this module adds only the flag's name
and a line of help. A flag's value goes to ``Settings.from_env`` as an override: the
settings model stays the one reader of ``SCOPEGATE_*`` variables and the one checker of
values. Secrets have no flag (a command line is visible to every user of the machine in
the process list); feature flags stay variables (``SCOPEGATE_FEATURE_<NAME>``).
"""

from __future__ import annotations

import inspect
import types
from typing import Annotated, Any

import typer

from ..server.config.checks import FLAGLESS, flag_name
from ..server.config.settings import ENV_PREFIX, Settings

__all__ = ["NO_FLAG", "SETTING_FLAGS", "flag_name", "setting_parameters"]

#: setting -> help (its default is appended from the model when the model has one).
SETTING_FLAGS: dict[str, str] = {
    "host": "Interface to listen on",
    "port": "TCP port",
    "issuer": "Public base URL (default http://HOST:PORT)",
    "database_url": "SQLAlchemy URL (default: scopegate.db in the user data dir)",
    "catalog_path": "A scopes.toml file (default: the bundled catalog)",
    "redis_url": "Redis URL for rate limits shared by every worker (default: in memory, "
                 "per process)",
    "workers": "Worker processes",
    "kek_file": "File with the key-encryption key(s) that seal the database's secrets "
                "(default: SCOPEGATE_KEK; for SQLite without either, <database>.kek)",
    "forwarded_allow_ips": "Proxies (addresses or networks, comma-separated, or *) whose "
                           "X-Forwarded-For and X-Forwarded-Proto are believed (default: "
                           "none; the client is the TCP peer)",
    "access_token_ttl": "Seconds an access token lasts",
    "refresh_token_ttl": "Seconds a refresh token lasts",
    "code_ttl": "Seconds an authorization code lasts",
    "device_code_ttl": "Seconds a device code lasts",
    "device_interval": "Seconds a device waits between polls",
    "par_ttl": "Seconds a pushed authorization request (RFC 9126) waits for the browser",
    "par_required": "Every authorization request must be pushed first (RFC 9126)",
    "signing_alg": "Algorithm of a new access-token key, ES256 or EdDSA",
    "max_body_bytes": "Largest request body in bytes",
    "api_key_prefix": "Prefix of new API keys",
    "client_cache_ttl": "Seconds a client lookup is reused on the token endpoint",
    "management_audience": "Resource identifier of the management API "
                           "(default ISSUER/api/v1/)",
    "session_idle_ttl": "Seconds an unused browser session lasts",
    "session_absolute_ttl": "Seconds a browser session lasts after sign-in",
    "login_failures_per_account_address": "Wrong passwords for one account from one "
                                          "address before each further try waits",
    "login_failures_per_address": "Wrong passwords from one address, any accounts, before "
                                  "each further try waits",
    "login_first_wait": "Seconds of the first wait, doubled per further failure",
    "login_max_wait": "Longest wait in seconds",
    "login_failure_reset": "Seconds without an attempt after which failures are forgotten",
    "registration": "Dynamic client registration: open (public clients without a token), "
                    "token (every registration needs an initial access token) or off",
    "registration_initial_tokens": "SHA-256 hex of the initial access tokens, comma-separated "
                                   "(scopegate clients initial-token makes one)",
    "registration_per_address": "Anonymous registrations per client address per window",
    "registration_window": "Seconds of the registration rate-limit window",
    "registration_unused_ttl": "Seconds before an unused self-registered public client is "
                               "pruned",
    "client_id_documents": "Accept an https URL as client_id (client ID metadata documents)",
    "client_id_documents_allow_loopback": "Fetch client ID metadata documents from loopback "
                                          "addresses too (tests only)",
    "dpop_nonce": "Require a server nonce in DPoP proofs at the token endpoint (RFC 9449 "
                  "§8; stateless, valid on every replica sharing the session secret)",
    "access_log": "Log every request as one JSON line: method, path (no query), status, "
                  "duration and client address",
}
#: Settings without a flag, and why.
NO_FLAG = FLAGLESS


def _help(setting: str) -> str:
    default = Settings.model_fields[setting].default
    shown = f"{default:g}" if isinstance(default, float) else default
    suffix = f" (default {shown})" if default not in (None, "") else ""
    return f"{SETTING_FLAGS[setting]}{suffix}. [env var: {ENV_PREFIX}{setting.upper()}]"


def _value_type(setting: str) -> Any:
    """The setting's type without its None: an unset flag is None, whatever the type."""
    annotation = Settings.model_fields[setting].annotation
    if isinstance(annotation, types.UnionType):
        (annotation,) = (arg for arg in annotation.__args__ if arg is not type(None))
    return annotation


def setting_parameters() -> list[inspect.Parameter]:
    """One keyword parameter per flag, typed and documented for Typer, defaulting to None."""
    return [inspect.Parameter(
        setting, inspect.Parameter.KEYWORD_ONLY, default=None,
        annotation=Annotated[_value_type(setting) | None,
                             typer.Option(flag_name(setting), help=_help(setting))])
        for setting in SETTING_FLAGS]
