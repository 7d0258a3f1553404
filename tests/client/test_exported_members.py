"""Pin the public surface of scopegate.client: every name exported on purpose, from its module."""

from __future__ import annotations

import subprocess
import sys

import scopegate.client as client

EXPECTED = {
    "CLIENT_CREDENTIALS_DEFAULT_SCOPES": "_providers",
    "CONFIG_DIR_ENV": "_config",
    "CREDENTIALS_FILE": "_config",
    "DEFAULT_EXPIRY_MARGIN": "_cache",
    "ENVIRONMENTS_FILE": "_config",
    "ENV_SELECT_ENV": "_config",
    "INTERACTIVE_DEFAULT_SCOPES": "_providers",
    "KEYRING_SERVICE": "_config",
    "METADATA_PATH": "_providers",
    "NO_KEYRING_ENV": "_api_client",
    "REQUIRED_SCOPES_EXTENSION": "_auth",
    "SCOPE_CATALOG_METADATA": "_providers",
    "TOKENS_FILE": "_api_client",
    "Acquire": "_flow",
    "ApiClient": "_api_client",
    "AsyncApiClient": "_api_client",
    "AuthenticationError": "_exceptions",
    "AuthorizationCodePkceProvider": "_providers",
    "Blocking": "_flow",
    "ClientCredentialsProvider": "_providers",
    "ClientError": "_exceptions",
    "ConfigError": "_exceptions",
    "Covered": "_stepup",
    "Credentials": "_config",
    "DeviceCodeProvider": "_providers",
    "DeviceDisplay": "_device",
    "DeviceFlowError": "_exceptions",
    "DevicePrompt": "_device",
    "Effect": "_flow",
    "EnvSession": "_api_client",
    "Environment": "_config",
    "FileTokenStore": "_stores",
    "Flow": "_flow",
    "IdentityChanged": "_exceptions",
    "KeyringFallbackWarning": "_stores",
    "KeyringTimeout": "_config",
    "KeyringTokenStore": "_stores",
    "LockRegistry": "_locks",
    "LoginRequired": "_exceptions",
    "LoginTimeout": "_exceptions",
    "LoopbackListener": "_loopback",
    "MemoryTokenStore": "_stores",
    "MissingNonInteractive": "_stepup",
    "PersistentTokenStore": "_stores",
    "Reauthenticate": "_stepup",
    "Release": "_flow",
    "RevocationError": "_exceptions",
    "RichDeviceDisplay": "_device",
    "ScopeChoice": "_config",
    "ScopeNotGranted": "_exceptions",
    "ScopeSource": "_config",
    "ScopeStepUpRequired": "_exceptions",
    "ScopegateAuth": "_auth",
    "ScopegateRequestsAuth": "_auth",
    "Sleep": "_flow",
    "StepUpError": "_exceptions",
    "StepUpPlan": "_stepup",
    "Token": "_tokens",
    "TokenCache": "_cache",
    "TokenEndpointError": "_exceptions",
    "TokenProvider": "_providers",
    "TokenSession": "_session",
    "TokenStore": "_stores",
    "TokenStoreError": "_exceptions",
    "check_identity": "_stepup",
    "config_dir": "_config",
    "current_session": "_session",
    "decode_claims": "_tokens",
    "drive_async": "_flow",
    "drive_sync": "_flow",
    "insufficient_scope": "_stepup",
    "is_interactive": "_stepup",
    "load_credentials": "_config",
    "load_environment": "_config",
    "load_environments": "_config",
    "login_command": "_exceptions",
    "pkce_pair": "_providers",
    "plan_step_up": "_stepup",
    "required_scopes_extension": "_auth",
    "requires_scopes": "_session",
    "resolve_scopes": "_config",
    "retry_after_seconds": "_exceptions",
    "revoke_flow": "_revocation",
    "session_from_env": "_api_client",
    "shared_cache": "_api_client",
    "terminal_text": "_terminal",
    "use_session": "_session",
    "verify_granted": "_stepup",
}


def test_exported_members_are_pinned() -> None:
    assert set(client.__all__) == set(EXPECTED)
    assert len(client.__all__) == len(set(client.__all__))


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
