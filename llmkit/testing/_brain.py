"""The emulator's deterministic "model": what to answer, independent of any wire dialect.

Each provider handler turns its wire request into a `Conversation`, asks `plan()` what to
do, and renders the `Plan` in its own response and stream shapes. Deterministic on purpose:
the same request always gets the same answer, so users' tests can assert on it.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

__all__ = ["Conversation", "Plan", "count_tokens", "plan", "synthesize"]


@attrs.define(kw_only=True)
class Conversation:
    """The dialect-neutral gist of a chat request."""

    last_user_text: str = ""
    all_text: str = ""
    images: int = 0
    last_is_tool_result: bool = False
    tool_result_text: str = ""
    tools: list[dict[str, Any]] = attrs.field(factory=list)  # [{name, parameters}]
    tool_choice: str | None = None  # "auto" | "none" | "required" | a tool name
    json_schema: dict[str, Any] | None = None
    json_object: bool = False
    max_tokens: int | None = None
    reasoning: bool = False


@attrs.define(kw_only=True)
class Plan:
    """What the emulated model answers: text, tool calls, reasoning, usage, finish."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = attrs.field(factory=list)
    reasoning: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    truncated: bool = False


_WORD = re.compile(r"\S+")


def count_tokens(text: str) -> int:
    """A stable token estimate: words plus punctuation runs (good enough for an emulator)."""
    return len(_WORD.findall(text))


def _guess_string(name: str, text: str) -> str:
    caps: list[str] = re.findall(r"\b[A-Z][a-zA-Zà-ÿ]+\b", text)
    if caps and any(k in name.lower() for k in ("city", "location", "place", "country", "name")):
        return caps[-1]
    return caps[-1] if caps else "example"


def synthesize(schema: Any, text: str, name: str = "value") -> Any:
    """A value that satisfies a JSON Schema, filled from the prompt where it can."""
    if not isinstance(schema, dict):
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    kind = (kind or "object").lower() if isinstance(kind, str) else "object"
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: synthesize(v, text, k) for k, v in props.items()}
    if kind == "array":
        return [synthesize(schema.get("items") or {}, text, name)]
    if kind == "string":
        return _guess_string(name, text)
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    return None


def plan(conv: Conversation) -> Plan:
    """Decide the answer: a tool call, a tool-result summary, JSON, or an echo."""
    p = Plan(input_tokens=max(count_tokens(conv.all_text), 1))
    use_tools = conv.tools and conv.tool_choice != "none" and not conv.last_is_tool_result
    if use_tools:
        chosen = conv.tools[0]
        if conv.tool_choice not in (None, "auto", "required", "any"):
            chosen = next((t for t in conv.tools if t["name"] == conv.tool_choice), chosen)
        args = synthesize(chosen.get("parameters") or {"type": "object"}, conv.last_user_text)
        p.tool_calls.append((chosen["name"], args if isinstance(args, dict) else {}))
        p.text = ""
    elif conv.last_is_tool_result:
        p.text = f"The tool returned: {conv.tool_result_text}"
    elif conv.json_schema is not None:
        p.text = json.dumps(synthesize(conv.json_schema, conv.last_user_text), ensure_ascii=False)
    elif conv.json_object:
        p.text = json.dumps({"answer": conv.last_user_text}, ensure_ascii=False)
    else:
        p.text = f"You said: {conv.last_user_text}"
        if conv.images:
            p.text += f" (I see {conv.images} image{'s' if conv.images > 1 else ''}.)"
    if conv.reasoning:
        p.reasoning = f"The user wrote {count_tokens(conv.last_user_text)} words; answer plainly."
    if conv.max_tokens is not None and not p.tool_calls:
        words = p.text.split(" ")
        if len(words) > conv.max_tokens:
            p.text = " ".join(words[: conv.max_tokens])
            p.truncated = True
    p.output_tokens = max(count_tokens(p.text) + sum(count_tokens(json.dumps(a)) for _, a in p.tool_calls), 1)
    return p


def chunks(text: str) -> list[str]:
    """Split text into stream deltas at word boundaries, keeping every character."""
    return re.findall(r"\S+\s*|\s+", text) or [""]
