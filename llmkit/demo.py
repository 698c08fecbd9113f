"""`make demo` / `python -m llmkit.demo`: llmkit's main job on the built-in emulator.

A chat, a streamed chat and a tool call (answered and sent back) for each emulated provider,
over real sockets to a local server: no API key, no network.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

from ._lifecycle import ModelDeprecationWarning
from .testing import emulator

__all__ = ["main"]

MODELS = {
    "openai": "openai/gpt-6-luna",
    "anthropic": "anthropic/claude-sonnet-4-5",
    "gemini": "gemini/gemini-2.5-flash",
}

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def main(out: Any = None) -> int:
    out = out or sys.stdout
    with emulator() as emu:
        client = emu.client()
        served = [p for p in MODELS if p in emu.providers_config()]
        print(f"llmkit emulator on {emu.url} serving: {', '.join(served)}\n", file=out)
        for provider in served:
            model = MODELS[provider]
            print(f"== {model}", file=out)
            with warnings.catch_warnings(record=True) as notes:
                warnings.simplefilter("always", ModelDeprecationWarning)
                resp = client.chat(model, [{"role": "user", "content": "Hello from llmkit!"}], max_tokens=64)
            for note in notes:  # a model's lifecycle, as any caller would see it (once per process)
                print(f"note:      {note.message}", file=out)
            print(
                f"chat:      {resp.text!r}  ({resp.usage.input_tokens} in / "
                f"{resp.usage.output_tokens} out, ${resp.cost_usd or 0:.8f})",
                file=out,
            )

            print("stream:    ", end="", file=out)
            with client.chat(
                model, [{"role": "user", "content": "Stream this answer please"}], stream=True, max_tokens=64
            ) as stream:
                for piece in stream.text_stream:
                    print(piece, end="", file=out, flush=True)
                final = stream.get_final_response()
            print(f"  [finish: {final.finish_reason}]", file=out)

            history: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
            resp = client.chat(model, history, tools=[WEATHER_TOOL], max_tokens=64)
            call = resp.tool_calls[0]
            print(f"tool call: {call.name}({json.dumps(call.arguments)})", file=out)
            history += [resp.message, {"role": "tool", "tool_call_id": call.id, "content": "18°C, sunny"}]
            answer = client.chat(model, history, tools=[WEATHER_TOOL], max_tokens=64)
            print(f"answer:    {answer.text!r}\n", file=out)
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
