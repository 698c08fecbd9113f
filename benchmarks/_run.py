"""The benchmark run: start the server, then interleave every client round by round.

Why rounds: on a shared two-core machine, load from other processes comes and goes. Running
each client once per round, in a rotated order, spreads that noise over all clients alike, and
the report compares medians over rounds. Every measurement runs in a fresh worker process in
the client's own venv (see _worker.py), so one client's imports never leak into another's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._envs import Env

__all__ = ["CALL_JOBS", "IMPORT_JOBS", "Results", "Server", "Sizes", "run"]

WORKER = Path(__file__).resolve().parent / "_worker.py"
SERVER = Path(__file__).resolve().parent / "_server.py"

# label -> (venv, module, attribute touched after import)
IMPORT_JOBS: dict[str, tuple[str, str, str | None]] = {
    "python (nothing imported)": ("httpx", "sys", None),
    "httpx": ("httpx", "httpx", None),
    "llmkit": ("llmkit", "llmkit", None),
    "llmkit + llmkit.Client": ("llmkit", "llmkit", "Client"),
    "openai": ("openai", "openai", None),
    "anthropic": ("anthropic", "anthropic", None),
    "litellm": ("litellm", "litellm", None),
}
# (client, wire): the client runs in the venv of the same name
CALL_JOBS: list[tuple[str, str]] = [
    ("httpx", "openai"),
    ("llmkit", "openai"),
    ("openai", "openai"),
    ("litellm", "openai"),
    ("httpx", "anthropic"),
    ("llmkit", "anthropic"),
    ("anthropic", "anthropic"),
    ("litellm", "anthropic"),
]
# no network from LiteLLM at import (it fetches its price map otherwise), no telemetry
WORKER_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False", "PYTHONWARNINGS": "ignore"}


@dataclass
class Sizes:
    """How much work each measurement does; `--full` uses the sizes the issue names."""

    rounds: int = 5
    calls: int = 200
    burst: int = 1000
    streams: int = 1
    stream_chunks: int = 10_000
    memory_calls: int = 2_000


@dataclass
class Results:
    """Raw worker outputs, keyed by job label, one entry per round."""

    imports: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    memory: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)
    seconds: float = 0.0


class Server:
    """The canned-answer server in its own process (the same interpreter as the orchestrator)."""

    def __init__(self, stream_chunks: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(SERVER), "--stream-chunks", str(stream_chunks)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "READY":
            self.close()
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        self.base = f"http://127.0.0.1:{line[1]}"

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def _work(env: Env, spec: dict[str, Any], timeout: float = 900) -> dict[str, Any]:
    if env.error:
        return {"error": f"not installed: {env.error}"}
    try:
        proc = subprocess.run(
            [str(env.python), str(WORKER), json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **WORKER_ENV},
        )
    except subprocess.TimeoutExpired:
        return {"error": f"worker timed out after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"worker exited {proc.returncode}: {tail}"[:300]}
    return result


def _rotate(items: list[Any], by: int) -> list[Any]:
    by %= max(len(items), 1)
    return items[by:] + items[:by]


def run(envs: dict[str, Env], sizes: Sizes, clients: set[str], memory: bool) -> Results:
    """Every import and call job once per round, rotated; then one memory job per client."""
    results = Results()
    imports = [(label, job) for label, job in IMPORT_JOBS.items() if job[0] in clients]
    calls = [job for job in CALL_JOBS if job[0] in clients]
    started = time.perf_counter()
    results.load.append(os.getloadavg()[0])
    server = Server(sizes.stream_chunks)
    try:
        for r in range(sizes.rounds):
            print(f"  round {r + 1}/{sizes.rounds}", file=sys.stderr, flush=True)
            for label, (env_name, module, attr) in _rotate(imports, r):
                out = _work(envs[env_name], {"task": "import", "module": module, "attr": attr})
                results.imports.setdefault(label, []).append(out)
            for client, wire in _rotate(calls, r):
                spec = {
                    "task": "calls",
                    "client": client,
                    "wire": wire,
                    "base": server.base,
                    "calls": sizes.calls,
                    "burst": sizes.burst,
                    "streams": sizes.streams,
                }
                results.calls.setdefault((client, wire), []).append(_work(envs[client], spec))
        if memory:
            for client, wire in calls:
                print(f"  memory {client} ({wire} wire)", file=sys.stderr, flush=True)
                spec = {"task": "memory", "client": client, "wire": wire, "base": server.base}
                results.memory[(client, wire)] = _work(envs[client], {**spec, "calls": sizes.memory_calls})
    finally:
        server.close()
    results.load.append(os.getloadavg()[0])
    results.seconds = time.perf_counter() - started
    return results
