"""Pin the public surface of scopegate.client: every name exported on purpose, from its module."""

from __future__ import annotations

import importlib
import subprocess
import sys

import scopegate.client as client

#: What a user needs, and nothing else: 25 names (88 before issue 10). Everything else
#: stays importable from its private module (the CLI and these tests use them).
EXPECTED = {
    "ApiClient": "_api_client",
    "AsyncApiClient": "_api_client",
    "AuthenticationError": "_exceptions",
    "AuthorizationCodePkceProvider": "_providers",
    "ClientCredentialsProvider": "_providers",
    "ClientError": "_exceptions",
    "ConfigError": "_exceptions",
    "Credentials": "_config_files",
    "DeviceCodeProvider": "_device",
    "LoginRequired": "_exceptions",
    "ScopeStepUpRequired": "_exceptions",
    "ScopegateAuth": "_auth",
    "ScopegateRequestsAuth": "_auth",
    "SignInStepUpRequired": "_exceptions",
    "StepUpError": "_exceptions",
    "Token": "_tokens",
    "TokenEndpointError": "_exceptions",
    "TokenSession": "_session",
    "aget_token": "_context",
    "get_token": "_context",
    "required_scopes_extension": "_auth",
    "requires_scopes": "_context",
    "session_from_env": "_factory",
    "terminal_text": "_terminal",
    "use_session": "_context",
}


def test_exported_members_are_pinned() -> None:
    assert set(client.__all__) == set(EXPECTED)
    assert len(client.__all__) == len(set(client.__all__))


def test_every_private_module_lists_its_names() -> None:
    for module in {*EXPECTED.values(), "_flow", "_locks", "_cache", "_stores", "_login"}:
        names = importlib.import_module(f"scopegate.client.{module}").__all__
        assert names and len(names) == len(set(names)), module


def test_each_name_comes_from_its_private_module() -> None:
    for name, module in EXPECTED.items():
        member = getattr(client, name)
        origin = getattr(member, "__module__", None)
        if origin is not None and origin.startswith("scopegate.client."):
            assert origin == f"scopegate.client.{module}", name


def test_the_client_never_imports_server_store_or_guard() -> None:
    code = (
        "import sys, scopegate.client, scopegate.cli.user\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[:2] in "
        "(['scopegate', 'server'], ['scopegate', 'store'], ['scopegate', 'guard']))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
