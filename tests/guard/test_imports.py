"""The guard stands alone: importing it pulls in neither the server nor the store."""

from __future__ import annotations

import subprocess
import sys

import scopegate.guard


def test_guard_never_imports_server_or_store() -> None:
    code = (
        "import sys\n"
        "import scopegate.guard, scopegate.guard.adapters.starlette\n"
        "import scopegate.guard.adapters.fastapi, scopegate.guard.adapters.flask\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('scopegate.server', "
        "'scopegate.store')))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_core_does_not_need_web_frameworks() -> None:
    code = ("import sys, scopegate.guard\n"
            "print(','.join(m for m in ('fastapi', 'flask') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""


def test_exported_names_exist() -> None:
    for name in scopegate.guard.__all__:
        assert hasattr(scopegate.guard, name), name
