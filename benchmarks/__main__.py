"""`make bench`: llmkit against raw httpx and the SDKs users would pick instead, in one run.

    python -m benchmarks                 # modest sizes, fit for a shared two-core machine
    python -m benchmarks --full          # the issue's sizes: more rounds, 10,000 calls for memory
    python -m benchmarks --clients httpx,llmkit --rounds 3 --no-memory

Builds one venv per client under .bench/venvs/ (pinned versions from PyPI; llmkit from this
checkout), starts the canned-answer server in its own process, interleaves all clients round by
round, then writes docs/benchmarks.md and prints it. Numbers are measurements, never test
assertions.
"""

from __future__ import annotations

import argparse
import sys

from ._envs import CLIENT_PINS, ROOT, build_env
from ._report import render
from ._run import Sizes, run

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the issue's sizes (slow: several minutes more)")
    parser.add_argument("--clients", default=",".join(CLIENT_PINS), help="comma-separated subset of the clients")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 5, --full 15)")
    parser.add_argument("--calls", type=int, help="sequential calls per round and client (default 200, --full 1000)")
    parser.add_argument("--burst", type=int, help="concurrent async calls per burst (default 1000)")
    parser.add_argument("--memory-calls", type=int, help="calls for memory growth (default 2000, --full 10000)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory-growth jobs")
    parser.add_argument("--reuse", action="store_true", help="do not reinstall llmkit into its venv")
    parser.add_argument("--out", default=str(ROOT / "docs" / "benchmarks.md"), help="where to write the report")
    args = parser.parse_args(argv)

    sizes = Sizes(rounds=15, calls=1000, memory_calls=10_000) if args.full else Sizes()
    for name in ("rounds", "calls", "burst", "memory_calls"):
        if getattr(args, name) is not None:
            setattr(sizes, name, getattr(args, name))
    clients = {c.strip() for c in args.clients.split(",") if c.strip()}
    unknown = clients - set(CLIENT_PINS)
    if unknown:
        parser.error(f"unknown clients {sorted(unknown)}; known: {', '.join(CLIENT_PINS)}")
    clients.add("httpx")  # every ratio is against raw httpx

    print("preparing venvs (.bench/venvs) ...", file=sys.stderr, flush=True)
    envs = {name: build_env(name, reuse=args.reuse) for name in CLIENT_PINS if name in clients}
    for env in envs.values():
        if env.error:
            print(f"  {env.name}: cannot install ({env.error}); reported as such", file=sys.stderr)
    print("running ...", file=sys.stderr, flush=True)
    results = run(envs, sizes, clients, memory=not args.no_memory)
    text = render(envs, results, sizes, args.full)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
