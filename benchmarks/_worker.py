"""One benchmark worker: runs inside one client's own virtualenv and prints one JSON line.

Why a script and not a module of `benchmarks`: each client (raw httpx, llmkit, the openai and
anthropic SDKs, LiteLLM) lives in its own venv so imports never mix, and a venv only has
its client. So this file imports nothing but the standard library until a task names a client,
and is run by path:

    <venv>/bin/python benchmarks/_worker.py '{"task": "calls", "client": "llmkit", "wire": "openai", ...}'

Tasks: `import` (time and RSS of one import in this fresh process), `calls` (first call after
import, sequential calls, one 10,000-chunk stream, a burst of concurrent async calls), `memory`
(RSS growth over many sequential calls). Clients: httpx, llmkit, openai, anthropic, litellm;
wires: openai, anthropic.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["main"]

MESSAGES = [{"role": "user", "content": "benchmark " * 50}]
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
MAX_TOKENS = 256
_PAGE = os.sysconf("SC_PAGE_SIZE")

Call = Callable[[], object]
AsyncCall = Callable[[], Awaitable[object]]
Stream = Callable[[], int]
MakeAsync = Callable[[], tuple[AsyncCall, Callable[[], Awaitable[None]]]]
Made = tuple[Call, Stream, MakeAsync]


def rss_mb() -> float:
    """Resident set size now (not the peak), from /proc: what the process holds at this point."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 1e6


# ---- the clients: each returns (sync call, stream call, async-call factory) -------------------


def _httpx(wire: str, base: str) -> Made:
    import httpx

    if wire == "openai":
        url, headers = f"{base}/v1/chat/completions", {"Authorization": "Bearer k"}
        body: dict[str, Any] = {"model": OPENAI_MODEL, "messages": MESSAGES}
        data_prefix = "data: {"
    else:
        url = f"{base}/v1/messages"
        headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
        body = {"model": ANTHROPIC_MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS}
        data_prefix = "data: {"
    client = httpx.Client(headers=headers)
    stream_body = {**body, "stream": True}

    def call() -> object:
        return json.loads(client.post(url, json=body).content)

    def stream() -> int:
        n = 0
        with client.stream("POST", url, json=stream_body) as r:
            for line in r.iter_lines():
                if line.startswith(data_prefix):
                    json.loads(line[6:])
                    n += 1
        return n

    def make_async() -> tuple[AsyncCall, Callable[[], Awaitable[None]]]:
        aclient = httpx.AsyncClient(headers=headers)

        async def acall() -> object:
            return json.loads((await aclient.post(url, json=body)).content)

        return acall, aclient.aclose

    return call, stream, make_async


def _llmkit(wire: str, base: str) -> Made:
    import llmkit

    extra: dict[str, Any] = {}
    if wire == "openai":
        providers = {"openai": {"api_key": "k", "base_url": f"{base}/v1"}}
        model = f"openai/{OPENAI_MODEL}"
    else:
        providers = {"anthropic": {"api_key": "k", "base_url": base}}
        model, extra = f"anthropic/{ANTHROPIC_MODEL}", {"max_tokens": MAX_TOKENS}
    client = llmkit.Client(providers=providers)

    def call() -> object:
        return client.chat(model, MESSAGES, **extra).text

    def stream() -> int:
        n = 0
        for event in client.chat(model, MESSAGES, stream=True, **extra):
            if isinstance(event, llmkit.TextDelta):
                n += 1
        return n

    def make_async() -> tuple[AsyncCall, Callable[[], Awaitable[None]]]:
        aclient = llmkit.AsyncClient(providers=providers)

        async def acall() -> object:
            return (await aclient.chat(model, MESSAGES, **extra)).text

        return acall, aclient.aclose

    return call, stream, make_async


def _openai(wire: str, base: str) -> Made:
    import openai  # type: ignore[import-not-found, unused-ignore]

    client = openai.OpenAI(api_key="k", base_url=f"{base}/v1", max_retries=0)

    def call() -> object:
        return client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES).choices[0].message.content

    def stream() -> int:
        n = 0
        for chunk in client.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES, stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                n += 1
        return n

    def make_async() -> tuple[AsyncCall, Callable[[], Awaitable[None]]]:
        aclient = openai.AsyncOpenAI(api_key="k", base_url=f"{base}/v1", max_retries=0)

        async def acall() -> object:
            resp = await aclient.chat.completions.create(model=OPENAI_MODEL, messages=MESSAGES)
            return resp.choices[0].message.content

        return acall, aclient.close

    return call, stream, make_async


def _anthropic(wire: str, base: str) -> Made:
    import anthropic  # type: ignore[import-not-found, unused-ignore]

    client = anthropic.Anthropic(api_key="k", base_url=base, max_retries=0)
    kw: dict[str, Any] = {"model": ANTHROPIC_MODEL, "messages": MESSAGES, "max_tokens": MAX_TOKENS}

    def call() -> object:
        return client.messages.create(**kw).content[0]

    def stream() -> int:
        n = 0
        for event in client.messages.create(stream=True, **kw):
            if event.type == "content_block_delta":
                n += 1
        return n

    def make_async() -> tuple[AsyncCall, Callable[[], Awaitable[None]]]:
        aclient = anthropic.AsyncAnthropic(api_key="k", base_url=base, max_retries=0)

        async def acall() -> object:
            return (await aclient.messages.create(**kw)).content[0]

        return acall, aclient.close

    return call, stream, make_async


def _litellm(wire: str, base: str) -> Made:
    import litellm  # type: ignore[import-not-found, unused-ignore]

    if wire == "openai":
        kw: dict[str, Any] = {"model": f"openai/{OPENAI_MODEL}", "api_base": f"{base}/v1"}
    else:
        kw = {"model": f"anthropic/{ANTHROPIC_MODEL}", "api_base": base, "max_tokens": MAX_TOKENS}
    kw.update(api_key="k", messages=MESSAGES, num_retries=0)

    def call() -> object:
        return litellm.completion(**kw).choices[0].message.content

    def stream() -> int:
        n = 0
        for chunk in litellm.completion(stream=True, **kw):
            if chunk.choices and chunk.choices[0].delta.content:
                n += 1
        return n

    def make_async() -> tuple[AsyncCall, Callable[[], Awaitable[None]]]:
        async def acall() -> object:
            return (await litellm.acompletion(**kw)).choices[0].message.content

        async def close() -> None:
            return None

        return acall, close

    return call, stream, make_async


CLIENTS = {"httpx": _httpx, "llmkit": _llmkit, "openai": _openai, "anthropic": _anthropic, "litellm": _litellm}


# ---- the tasks --------------------------------------------------------------------------------


def task_import(module: str, attr: str | None) -> dict[str, Any]:
    """Time one import (plus one attribute access, e.g. llmkit.Client) in a fresh process."""
    rss0 = rss_mb()
    t = time.perf_counter()
    mod = __import__(module)
    if attr:
        getattr(mod, attr)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "rss_mb": rss_mb(), "rss_before_mb": rss0, "modules": len(sys.modules)}


async def _burst(make_async: MakeAsync, n: int) -> dict[str, Any]:
    acall, aclose = make_async()
    try:
        for _ in range(5):  # a warm pool and warm code paths, as in a long-lived service
            await acall()
        t = time.perf_counter()
        results = await asyncio.gather(*(acall() for _ in range(n)), return_exceptions=True)
        seconds = time.perf_counter() - t
    finally:
        await aclose()
    errors = [r for r in results if isinstance(r, BaseException)]
    return {
        "seconds": seconds,
        "errors": len(errors),
        "first_error": repr(errors[0])[:300] if errors else None,
    }


def task_calls(client: str, wire: str, base: str, calls: int, burst: int, streams: int) -> dict[str, Any]:
    """First call after import, then sequential calls, streams and one async burst, in that order."""
    t = time.perf_counter()
    call, stream, make_async = CLIENTS[client](wire, base)
    call()
    first = time.perf_counter() - t
    for _ in range(20):
        call()
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    stream_runs = []
    for _ in range(streams):
        t0 = time.perf_counter()
        chunks = stream()
        stream_runs.append({"seconds": time.perf_counter() - t0, "chunks": chunks})
    burst_result = asyncio.run(_burst(make_async, burst)) if burst else None
    return {"first_call": first, "call_times": times, "streams": stream_runs, "burst": burst_result}


def task_memory(client: str, wire: str, base: str, calls: int) -> dict[str, Any]:
    """RSS after a warm-up, then after `calls` more sequential calls: growth is what a service keeps."""
    call, _, _ = CLIENTS[client](wire, base)
    for _ in range(200):
        call()
    gc.collect()
    start = rss_mb()
    marks = []
    step = max(calls // 5, 1)
    for i in range(1, calls + 1):
        call()
        if i % step == 0:
            marks.append(rss_mb())
    gc.collect()
    end = rss_mb()
    return {"calls": calls, "rss_start_mb": start, "rss_end_mb": end, "growth_mb": end - start, "marks_mb": marks}


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    task = spec["task"]
    try:
        if task == "import":
            result = task_import(spec["module"], spec.get("attr"))
        elif task == "calls":
            result = task_calls(
                spec["client"], spec["wire"], spec["base"], spec["calls"], spec["burst"], spec["streams"]
            )
        elif task == "memory":
            result = task_memory(spec["client"], spec["wire"], spec["base"], spec["calls"])
        else:
            raise ValueError(f"unknown task {task!r}")
    except Exception as exc:  # reported as data: one broken client must not stop the run
        result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
