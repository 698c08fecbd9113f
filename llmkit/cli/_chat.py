"""`llmkit chat MODEL [PROMPT]`: one turn with any model, streamed to the terminal.

The prompt comes from the argument, or from stdin when it is missing or `-`, so
`git diff | llmkit chat openai/gpt-4o-mini --system "Review this diff"` works. `--json` prints
the whole ChatResponse (text, usage, cost, the provider's raw body) for scripts.
"""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
from pathlib import Path
from typing import Any

from .._types import ChatResponse, ImagePart, Message, TextPart
from ._exit import EXIT_OK, InputError
from ._term import Style

__all__ = ["register", "response_json"]


def register(sub: Any) -> None:
    p = sub.add_parser(
        "chat",
        help="send one prompt to a model and stream the answer",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("model", help="provider/model, e.g. openai/gpt-4o-mini (see `llmkit models`)")
    p.add_argument("prompt", nargs="?", default=None, help="the prompt; read from stdin when omitted or '-'")
    p.add_argument("-s", "--system", help="a system prompt")
    p.add_argument(
        "-i", "--image", action="append", default=[], metavar="PATH", help="attach an image file (repeatable)"
    )
    p.add_argument("-m", "--max-tokens", type=int, help="cap on generated tokens")
    p.add_argument("-t", "--temperature", type=float, help="sampling temperature")
    p.add_argument("--json", action="store_true", help="print the full response as JSON (no streaming)")
    p.add_argument("--no-stream", action="store_true", help="wait for the whole answer instead of streaming")
    p.add_argument("--usage", action="store_true", help="print tokens and cost to stderr afterwards")
    p.set_defaults(func=run)


def _read_prompt(given: str | None) -> str:
    if given is not None and given != "-":
        prompt = given
    else:
        if sys.stdin.isatty():
            print("llmkit: reading the prompt from stdin; end it with Ctrl-D", file=sys.stderr)
        prompt = sys.stdin.read()
    if not prompt.strip():
        raise InputError("empty prompt: give it as an argument, or pipe it on stdin")
    return prompt


def _image(path: str) -> ImagePart:
    media_type = mimetypes.guess_type(path)[0]
    if not media_type or not media_type.startswith("image/"):
        raise InputError(f"--image {path!r} is not an image file llmkit recognises (png, jpeg, gif, webp)")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read --image {path!r}: {exc.strerror or exc}")
    return ImagePart(data=data, media_type=media_type)


def build_messages(prompt: str, system: str | None, images: list[str]) -> list[Message]:
    """The conversation the command sends: an optional system turn and one user turn."""
    messages = [Message(role="system", content=system)] if system else []
    if images:
        parts: list[Any] = [TextPart(text=prompt), *(_image(p) for p in images)]
        messages.append(Message(role="user", content=parts))
    else:
        messages.append(Message(role="user", content=prompt))
    return messages


def response_json(resp: ChatResponse) -> dict[str, Any]:
    """A ChatResponse as plain JSON data: what `--json` prints."""
    u = resp.usage
    return {
        "id": resp.id,
        "provider": resp.provider,
        "model": resp.model,
        "text": resp.text,
        "finish_reason": resp.finish_reason,
        "raw_finish_reason": resp.raw_finish_reason,
        "message": resp.message.to_dict(),
        "usage": {
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "cached_input_tokens": u.cached_input_tokens,
            "cache_write_tokens": u.cache_write_tokens,
            "reasoning_tokens": u.reasoning_tokens,
        },
        "cost_usd": resp.cost_usd,
        "raw": resp.raw,
    }


def _usage_line(resp: ChatResponse) -> str:
    cost = "cost unknown" if resp.cost_usd is None else f"${resp.cost_usd:.6f}"
    u = resp.usage
    return (
        f"{resp.provider}/{resp.model}: {u.input_tokens} input + {u.output_tokens} output tokens, "
        f"{cost}, finish_reason={resp.finish_reason}"
    )


def run(args: argparse.Namespace) -> int:
    from .._client import Client

    prompt = _read_prompt(args.prompt)
    messages = build_messages(prompt, args.system, args.image)
    params: dict[str, Any] = {}
    if args.max_tokens is not None:
        params["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        params["temperature"] = args.temperature
    out = sys.stdout
    with Client() as client:
        if args.json or args.no_stream:
            resp = client.chat(args.model, messages, **params)
            if args.json:
                out.write(json.dumps(response_json(resp), indent=2, ensure_ascii=False, default=str) + "\n")
            else:
                out.write(resp.text + ("" if resp.text.endswith("\n") else "\n"))
        else:
            last = ""
            with client.chat(args.model, messages, stream=True, **params) as stream:
                for text in stream.text_stream:
                    out.write(text)
                    out.flush()
                    last = text or last
                resp = stream.get_final_response()
            if not last.endswith("\n"):
                out.write("\n")
    out.flush()
    err = Style(sys.stderr)
    if resp.finish_reason == "length" and not args.json:
        print(err("llmkit: the answer was cut off at the token limit (raise --max-tokens)", "yellow"), file=sys.stderr)
    if args.usage:
        print(err(_usage_line(resp), "dim"), file=sys.stderr)
    return EXIT_OK
