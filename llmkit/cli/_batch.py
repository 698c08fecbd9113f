"""`llmkit batch MODEL FILE.jsonl`: submit one provider batch, wait for it, print the results.

Each line of FILE ('-' for stdin) is one request: a JSON object `{"messages": [...], ...}`
(other keys are chat parameters for that item, e.g. "max_tokens"), a JSON string, or plain text
(a user prompt). Blank lines are skipped. Progress goes to stderr (a bar on a terminal, a plain
line per change otherwise); the results go to stdout as JSONL in input order, one line per
item: `{"index": i, "ok": true, "response": {...}}` or `{"index": i, "ok": false, "error":
{"type", "message", "status"}}`. Exit code 0 when every item succeeded, 1 when any failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

from .._errors import LLMKitError
from ._chat import response_json
from ._exit import EXIT_ERROR, EXIT_OK, InputError
from ._term import ProgressBar

__all__ = ["read_items", "register", "run"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "batch",
        help="submit a JSONL file of requests as one provider batch and print the results",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="provider/model of a provider with batches, e.g. openai/gpt-4o-mini")
    p.add_argument("file", help="JSONL file of requests, '-' for stdin")
    p.add_argument("-s", "--system", help="a system prompt for every item")
    p.add_argument("-m", "--max-tokens", type=int, help="cap on generated tokens per item")
    p.add_argument("-t", "--temperature", type=float, help="sampling temperature")
    p.add_argument("--poll-interval", type=float, default=10.0, help="seconds between status polls (default 10)")
    p.add_argument("--timeout", type=float, help="give up waiting after this many seconds (the batch keeps running)")
    p.set_defaults(func=run)


def read_items(text: str, system: str | None = None) -> list[Any]:
    """The batch items of a JSONL text: dicts with `messages` (InputError on a bad line)."""
    items: list[Any] = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s:
            continue
        value: Any = s
        if s[0] in '{"':
            try:
                value = json.loads(s)
            except ValueError as exc:
                raise InputError(f"line {n} is not valid JSON: {exc}") from exc
        if isinstance(value, str):
            item: dict[str, Any] = {"messages": [{"role": "user", "content": value}]}
        elif isinstance(value, dict) and isinstance(value.get("messages"), list):
            item = dict(value)
        else:
            raise InputError(f'line {n} must be {{"messages": [...]}}, a JSON string or a plain-text prompt')
        if system:
            item["messages"] = [{"role": "system", "content": system}, *item["messages"]]
        items.append(item)
    if not items:
        raise InputError("the input has no requests")
    return items


class _Progress:
    def __init__(self, err: IO[str], batch_id: str) -> None:
        self.err = err
        self.batch_id = batch_id
        self.bar = ProgressBar(err)
        self.last: tuple[int, int] | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar.tty:
            self.bar.draw(done, total, f"{done}/{total} {self.batch_id}")
        elif (done, total) != self.last:
            self.err.write(f"llmkit: batch {self.batch_id}: {done}/{total} done\n")
        self.last = (done, total)

    def close(self) -> None:
        self.bar.close()


def _error_json(exc: LLMKitError) -> dict[str, Any]:
    return {"type": type(exc).__name__, "message": " ".join(str(exc).split()), "status": exc.status}


def run(args: argparse.Namespace) -> int:
    from .._client import Client

    if args.file == "-":
        text = sys.stdin.read()
    else:
        try:
            text = Path(args.file).read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot read {args.file!r}: {exc.strerror or exc}") from exc
    items = read_items(text, args.system)
    params: dict[str, Any] = {}
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        params["temperature"] = args.temperature
    with Client() as client:
        handle = client.batches.submit(args.model, items, **params)
        sys.stderr.write(f"llmkit: submitted batch {handle.id} ({len(items)} requests) to {handle.provider}\n")
        progress = _Progress(sys.stderr, handle.id)
        try:
            st = handle.wait(poll_interval=args.poll_interval, timeout=args.timeout, progress=progress)
        finally:
            progress.close()
        sys.stderr.write(f"llmkit: batch {handle.id} {st.state}\n")
        failed = 0
        for i, r in enumerate(handle.results()):
            row: dict[str, Any]
            if isinstance(r, LLMKitError):
                failed += 1
                row = {"index": i, "ok": False, "error": _error_json(r)}
            else:
                row = {"index": i, "ok": True, "response": response_json(r)}
            sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    return EXIT_ERROR if failed else EXIT_OK
