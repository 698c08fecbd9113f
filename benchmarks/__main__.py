"""`make bench`: llmkit's overhead as ratios against raw httpx, on one local server, in one run.

The server (llmkit's emulator) runs in its own process so it does not share the clients'
interpreter. Rounds interleave raw httpx and llmkit so machine noise hits both alike. Results
are printed and written to docs/benchmarks.md. Numbers are measurements, never test assertions.
"""

from __future__ import annotations

import json
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROUNDS = 3
CALLS = 100
ROOT = Path(__file__).resolve().parent.parent
BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "benchmark " * 50}]}


def _import_time(module: str) -> tuple[float, float]:
    code = (
        "import time, resource; t = time.perf_counter(); import " + module + "; "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), float(out[1])


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(int(q * len(values)), len(values) - 1)]


def main() -> int:
    import llmkit

    server = subprocess.Popen([sys.executable, "-m", "llmkit.testing"], stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    try:
        base = f"{url}/openai/v1"
        raw = httpx.Client(headers={"Authorization": "Bearer k"})
        client = llmkit.Client(providers={"openai": {"api_key": "k", "base_url": base}})
        messages = BODY["messages"]
        timings: dict[str, list[float]] = {"raw httpx": [], "llmkit": [], "raw httpx stream": [], "llmkit stream": []}
        for _ in range(ROUNDS):
            for _ in range(CALLS):
                t = time.perf_counter()
                json.loads(raw.post(f"{base}/chat/completions", json=BODY).content)
                timings["raw httpx"].append(time.perf_counter() - t)
                t = time.perf_counter()
                client.chat("openai/gpt-4o-mini", messages)
                timings["llmkit"].append(time.perf_counter() - t)
            for _ in range(CALLS // 4):
                t = time.perf_counter()
                with raw.stream("POST", f"{base}/chat/completions", json={**BODY, "stream": True}) as r:
                    for line in r.iter_lines():
                        if line.startswith("data: {"):
                            json.loads(line[6:])
                timings["raw httpx stream"].append(time.perf_counter() - t)
                t = time.perf_counter()
                client.chat("openai/gpt-4o-mini", messages, stream=True).get_final_response()
                timings["llmkit stream"].append(time.perf_counter() - t)
        imp_httpx, rss_httpx = _import_time("httpx")
        imp_llmkit, rss_llmkit = _import_time("llmkit")
    finally:
        server.terminate()
        server.wait()

    rows = [f"| {name} | {statistics.median(v) * 1e6:.0f} | {_pct(v, 0.95) * 1e6:.0f} |" for name, v in timings.items()]
    over = statistics.median(timings["llmkit"]) - statistics.median(timings["raw httpx"])
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` on {platform.python_implementation()} {platform.python_version()}, "
        f"{platform.machine()}, httpx {httpx.__version__}, llmkit {llmkit.__version__}; "
        f"{ROUNDS} interleaved rounds of {CALLS} calls against the emulator in its own process.",
        "",
        "| client | median µs/call | p95 µs/call |",
        "| --- | --- | --- |",
        *rows,
        "",
        f"llmkit overhead over raw httpx, per call (median): {over * 1e6:.0f} µs.",
        "",
        "| import | seconds | max RSS MB |",
        "| --- | --- | --- |",
        f"| `import httpx` | {imp_httpx:.3f} | {rss_httpx:.1f} |",
        f"| `import llmkit` | {imp_llmkit:.3f} | {rss_llmkit:.1f} |",
        "",
        f"`import llmkit` / `import httpx`: {imp_llmkit / imp_httpx:.2f}x.",
        "",
    ]
    text = "\n".join(lines)
    (ROOT / "docs" / "benchmarks.md").write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
