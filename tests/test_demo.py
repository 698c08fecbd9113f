"""`make demo` runs a chat, a stream and a tool call for every emulated provider."""

from __future__ import annotations

import io

from llmkit.demo import main


def test_demo_runs_every_provider() -> None:
    out = io.StringIO()
    assert main(out) == 0
    text = out.getvalue()
    for model in ("openai/gpt-6-luna", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash"):
        assert f"== {model}" in text
    assert text.count('tool call: get_weather({"city": "Paris"})') == 3
    assert text.count("answer:    'The tool returned: 18°C, sunny'") == 3
    assert text.count("[finish: stop]") == 3
