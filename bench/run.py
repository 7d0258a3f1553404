"""Run every benchmark in turn, each bounded in time, then print a summary of the goal figures.

``python bench/run.py`` runs them all (about 4.5 minutes on the 2-core development machine);
``python bench/run.py --quick`` shortens each one (a smoke run of about 1.5 minutes, noisier);
``python bench/run.py guard ratelimit`` runs a subset. Every bench runs in its own process
with a time limit (its process group is stopped when the limit passes); its output is shown
as it comes, and the summary reads the goal figures from that output. A bench that fails,
times out or no longer prints a figure shows up as such, and the command then exits 1.
Goals not met do not change the exit status: the figures are noisy on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BENCHES", "Bench", "Figure", "main"]

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Figure:
    """One summary row; ``met`` is None for a figure reported without a goal."""

    bench: str
    label: str
    value: str
    goal: str = ""
    met: bool | None = None


Extract = Callable[[str], list[Figure]]


@dataclass(frozen=True, slots=True)
class Bench:
    """How to run one ``bench_<name>.py`` and read its goal figures from its output."""

    name: str
    args: tuple[str, ...]
    quick_args: tuple[str, ...]
    timeout_s: float
    quick_timeout_s: float
    extract: Extract


def _search(pattern: str, text: str) -> re.Match[str] | None:
    return re.search(pattern, text, re.MULTILINE)


def _missing(bench: str, label: str, goal: str = "") -> Figure:
    return Figure(bench, label, "not printed", goal, False if goal else None)


def _sign(out: str) -> list[Figure]:
    figures = []
    for alg in ("ES256", "EdDSA"):
        found = _search(rf"^{alg}\s+([\d.]+)\s+([\d.]+)\s+([+-]?[\d.]+)", out)
        label = f"{alg} sign overhead over the raw signature (µs)"
        if found is None:
            figures.append(_missing("sign", label, "<= 10"))
            continue
        overhead = float(found[3])
        figures.append(Figure("sign", label, f"{overhead:+.1f}", "<= 10", overhead <= 10))
    return figures


def _token_endpoint(out: str) -> list[Figure]:
    found = _search(r"^token endpoint, 1 worker\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)",
                    out)
    if found is None:
        return [_missing("token_endpoint", "1 worker, x R", ">= 0.33")]
    ratio, p99, errors = float(found[2]), float(found[4]), int(found[5])
    return [
        Figure("token_endpoint", "client_credentials, 1 worker, x R", f"{ratio:.2f}", ">= 0.33",
               ratio >= 0.33),
        Figure("token_endpoint", "p99 latency (ms)", f"{p99:.2f}", "< 15", p99 < 15),
        Figure("token_endpoint", "errors under load", str(errors), "0", errors == 0),
    ]


def _token_dpop(out: str) -> list[Figure]:
    found = _search(r"^figure  DPoP x bearer \(server CPU per token\)\s+([\d.]+)\s+\(\+(\d+)",
                    out)
    label = "token endpoint, DPoP x bearer (server CPU per token) | extra µs"
    return [Figure("token_dpop", label, f"{found[1]} | +{found[2]}") if found
            else _missing("token_dpop", label)]


def _guard(out: str) -> list[Figure]:
    rows = re.findall(r"^goal  (.+?)\s+([\d.]+)\s+((?:>=|<=) [\d.]+)\s+(met|NOT met)\b", out,
                      re.MULTILINE)
    figures = [Figure("guard", label, value, goal, verdict == "met")
               for label, value, goal, verdict in rows]
    style = _search(r"^FastAPI style meeting 0.85x unguarded in this run: (.+)$", out)
    if style is not None:
        figures.append(Figure("guard", "FastAPI style(s) meeting 0.85x", style[1]))
    return figures or [_missing("guard", "goal lines", "see bench output")]


def _ratelimit(out: str) -> list[Figure]:
    figures = []
    for label in ("redis async sequential round trips/hit",
                  "redis async 32 concurrent round trips/hit"):
        found = _search(rf"^{re.escape(label)}\s+([\d.,]+)$", out)
        if found is None:
            figures.append(_missing("ratelimit", label, "<= 1"))
            continue
        value = float(found[1].replace(",", ""))
        figures.append(Figure("ratelimit", label, f"{value:.3f}", "<= 1", value <= 1))
    for label in ("redis async 32 concurrent hits/s", "memory async hit 10k keys hits/s"):
        found = _search(rf"^{re.escape(label)}\s+([\d.,]+)$", out)
        figures.append(Figure("ratelimit", label, found[1]) if found
                       else _missing("ratelimit", label))
    return figures


def _client(out: str) -> list[Figure]:
    figures = []
    for mode in ("sync", "async"):
        found = _search(rf"^httpx {mode}\s*:.*overhead\s+([\d.]+) µs/request", out)
        label = f"httpx {mode} auth overhead on a cache hit (µs)"
        if found is None:
            figures.append(_missing("client", label, "< 20"))
            continue
        value = float(found[1])
        figures.append(Figure("client", label, f"{value:.2f}", "< 20", value < 20))
    reads = _search(r"^persistent reads during \d+ cache hits: (\d+)", out)
    if reads is None:
        figures.append(_missing("client", "file/keyring reads on cache hits", "0"))
    else:
        figures.append(Figure("client", "file/keyring reads on cache hits", reads[1], "0",
                              reads[1] == "0"))
    return figures


def _api_keys(out: str) -> list[Figure]:
    figures = []
    for label in ("guard authenticate, cache hit", "guard authenticate, cache miss"):
        found = _search(rf"^\s*{re.escape(label)}[^:]*:\s+([\d.]+)", out)
        figures.append(Figure("api_keys", f"{label} (µs)", found[1]) if found
                       else _missing("api_keys", label))
    return figures


def _registration(out: str) -> list[Figure]:
    rows = re.findall(r"^(sqlite|postgres)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)"
                      r"\s+([\d.]+)\s+([\d.]+)$", out, re.MULTILINE)
    figures = [Figure("registration", f"{backend}, burst of {n}: regs/s | p99 ms | rows | "
                      "RSS MiB before -> after",
                      f"{rate} | {p99} | {count} | {before} -> {after}")
               for backend, n, rate, _p50, p99, count, before, after in rows]
    return figures or [_missing("registration", "registrations/s")]


def _refresh(out: str) -> list[Figure]:
    rows = re.findall(r"^(\w+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$",
                      out, re.MULTILINE)
    figures = [Figure("refresh", f"{backend}, {chains} chain(s): refresh/s | rows/refresh",
                      f"{per_s} | {rows_per}")
               for backend, chains, per_s, _p50, _p95, rows_per, _writes in rows]
    return figures or [_missing("refresh", "refresh/s")]


def _revocation(out: str) -> list[Figure]:
    figures = []
    for label in ("check empty", "check 10000"):
        found = _search(rf"^{label}\s+([\d.]+) µs", out)
        name = f"deny-list {label} on a cache hit (µs)"
        figures.append(Figure("revocation", name, found[1], "<= 2", float(found[1]) <= 2)
                       if found else _missing("revocation", name, "<= 2"))
    found = _search(r"^propagation\s+n=\d+ p50 ([\d.]+) ms p99 ([\d.]+) ms", out)
    label = "Redis propagation p50 | p99 (ms)"
    figures.append(Figure("revocation", label, f"{found[1]} | {found[2]}", "p99 <= 1000",
                          float(found[2]) <= 1000) if found
                   else _missing("revocation", label, "p99 <= 1000"))
    return figures


def _revocation_load(out: str) -> list[Figure]:
    found = _search(r"^under load\s+n=\d+ p50 ([\d.]+) ms p99 ([\d.]+) ms", out)
    label = "publish -> 401 at a loaded guard p50 | p99 (ms)"
    return [Figure("revocation", label, f"{found[1]} | {found[2]}", "p99 <= 1000",
                   float(found[2]) <= 1000) if found
            else _missing("revocation", label, "p99 <= 1000")]


def _usage(out: str) -> list[Figure]:
    figures = []
    for label, pattern in (("record per request on a cache hit (µs)", r"^record\s+([\d.]+) µs"),
                           ("bytes per report row", r"^report row\s+(\d+) bytes"),
                           ("memory at the bound (MB)", r"^memory at bound\s+([\d.]+) MB")):
        found = _search(pattern, out)
        figures.append(Figure("usage", label, found[1]) if found
                       else _missing("usage", label))
    return figures


def _scale(out: str) -> list[Figure]:
    rows = re.findall(r"^goal  (.+?)\s+([\d.]+)\s+(>= [\d.]+)\s+(met|NOT met)\b", out,
                      re.MULTILINE)
    figures = [Figure("scale", label, value, goal, verdict == "met")
               for label, value, goal, verdict in rows]
    workers = _search(r"^figure  (2 workers x 1 worker \(req/s\))\s+([\d.]+)\s+\(cpu/req ratio "
                      r"([\d.]+)", out)
    if workers is not None:
        figures.append(Figure("scale", f"{workers[1]} | cpu/req ratio",
                              f"{workers[2]} | {workers[3]}"))
    return figures or [_missing("scale", "10,000 clients x one client", ">= 0.9")]


BENCHES: tuple[Bench, ...] = (
    Bench("sign", (), (), 180, 90, _sign),
    Bench("token_endpoint", (), ("--rounds", "1", "--seconds", "2"), 300, 120, _token_endpoint),
    Bench("token_dpop", (), ("--requests", "1000", "--rounds", "1"), 300, 120, _token_dpop),
    Bench("guard", (), ("--quick",), 600, 240, _guard),
    Bench("ratelimit", (), ("--hits", "5000", "--seconds", "1"), 180, 60, _ratelimit),
    Bench("client", (), ("5000",), 180, 60, _client),
    Bench("api_keys", (), (), 180, 120, _api_keys),
    Bench("refresh", (), ("--n", "50"), 600, 180, _refresh),
    Bench("registration", (), ("--n", "200"), 300, 120, _registration),
    Bench("revocation", (), ("--n", "100"), 120, 60, _revocation),
    Bench("revocation_load", (), ("--n", "50"), 180, 90, _revocation_load),
    Bench("usage", (), (), 120, 60, _usage),
    Bench("scale", (), ("--rounds", "2", "--seconds", "3"), 500, 240, _scale),
)


def run_one(bench: Bench, quick: bool) -> tuple[str, str]:
    """Run one bench in its own process group; return (status, its output)."""
    path = HERE / f"bench_{bench.name}.py"
    args = bench.quick_args if quick else bench.args
    limit = bench.quick_timeout_s if quick else bench.timeout_s
    proc = subprocess.Popen([sys.executable, str(path), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []

    def pump() -> None:  # show the output as it comes and keep it for the summary
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            lines.append(line)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        code = proc.wait(timeout=limit)
        status = "ok" if code == 0 else f"failed (exit {code})"
    except subprocess.TimeoutExpired:
        _stop_group(proc)
        status = f"timed out after {limit:g} s"
    reader.join(timeout=5)
    return status, "".join(lines)


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """Stop the bench and the servers it started (they share its process group)."""
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def print_summary(figures: list[Figure], statuses: dict[str, tuple[str, float]]) -> None:
    """Print the goal figures of every bench that ran, and how each run ended."""
    print("\n=== summary ===")
    for name, (status, took) in statuses.items():
        print(f"bench_{name + '.py':22} {status:28} {took:6.0f} s")
    print()
    width = max([len(f.label) for f in figures] + [10])
    value_width = max([len(f.value) for f in figures] + [10])
    print(f"{'bench':15} {'figure':{width}} {'value':>{value_width}} {'goal':>8}  verdict")
    for f in figures:
        verdict = "" if f.met is None else ("met" if f.met else "NOT met")
        print(f"{f.bench:15} {f.label:{width}} {f.value:>{value_width}} {f.goal:>8}  {verdict}")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benches, then print the summary; exit 1 if one failed or timed out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    names = " ".join(b.name for b in BENCHES)
    parser.add_argument("names", nargs="*", help=f"a subset of: {names}")
    parser.add_argument("--quick", action="store_true", help="shorter runs (noisier figures)")
    args = parser.parse_args(argv)
    unknown = set(args.names) - {b.name for b in BENCHES}
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(sorted(unknown))}")
    chosen = [b for b in BENCHES if not args.names or b.name in args.names]
    figures: list[Figure] = []
    statuses: dict[str, tuple[str, float]] = {}
    for bench in chosen:
        print(f"\n=== bench_{bench.name}.py {'(quick)' if args.quick else ''} ===", flush=True)
        started = time.monotonic()
        status, out = run_one(bench, args.quick)
        statuses[bench.name] = (status, time.monotonic() - started)
        figures += bench.extract(out)
    print_summary(figures, statuses)
    return 0 if all(status == "ok" for status, _ in statuses.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
