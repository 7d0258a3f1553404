"""``scopegate demo --keep``: leave the services running, with a config the user CLI reads."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console

from ._local_stack import LocalService

__all__ = ["leave_running"]


def _write_config(workdir: Path, issuer: str, api_url: str, client: tuple[str, str],
                  scopes: tuple[str, ...]) -> Path:
    """Write a config dir with a ``demo`` environment so the user CLI can talk to the stack."""
    config = workdir / "config"
    config.mkdir(mode=0o700)
    env = {"issuer": issuer, "api_base_url": api_url, "credentials": "credentials.json",
           "scopes": list(scopes)}
    (config / "environments.json").write_text(json.dumps({"environments": {"demo": env}},
                                                         indent=2))
    creds = config / "credentials.json"
    creds.touch(mode=0o600)
    creds.write_text(json.dumps({"clientId": client[0], "clientSecret": client[1]}))
    return config


def leave_running(console: Console, services: list[LocalService], workdir: Path,
                  client: tuple[str, str], scopes: tuple[str, ...], run_scope: str) -> None:
    """Write the config and say how to use and stop the services left running."""
    config = _write_config(workdir, services[0].url, services[1].url, client, scopes)
    pids = " ".join(str(s.pid) for s in services)
    lines = [f"{s.name}: {s.url}  (pid {s.pid}, log {s.log_path})" for s in services]
    lines += [
        "",
        "Try the user CLI against it:",
        f"  SCOPEGATE_CONFIG_DIR={config} SCOPEGATE_NO_KEYRING=1 "
        f"scopegate token --env demo --scope {run_scope} --decode",
        "",
        f"Stop them with:  kill {pids}   (data in {workdir})",
    ]
    console.print()
    console.rule("[bold]services left running", align="left")
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)
