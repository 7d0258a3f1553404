"""Run every benchmark: ``python bench/run.py`` (each ``bench/bench_*.py`` in turn).

Pass names to run a subset: ``python bench/run.py sign token_endpoint``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run in this order; any other bench_*.py found is run afterwards.
PREFERRED = ["bench_sign.py", "bench_token_endpoint.py"]


def main(argv: list[str]) -> int:
    found = sorted(p.name for p in HERE.glob("bench_*.py"))
    ordered = [n for n in PREFERRED if n in found] + [n for n in found if n not in PREFERRED]
    if argv:
        ordered = [n for n in ordered if n.removeprefix("bench_").removesuffix(".py") in argv]
    failed = 0
    for name in ordered:
        print(f"\n=== {name} ===", flush=True)
        failed += subprocess.call([sys.executable, str(HERE / name)]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
