"""Model lifecycles from the specs: deprecated models warn once (date and replacement), retired
ones raise ConfigError before any request, and `codegen diff` reports lifecycle changes."""

from __future__ import annotations

import warnings

import pytest

import llmkit
from codegen.diff import spec_changes
from llmkit import _registry

RETIRED = [
    ("anthropic/claude-sonnet-4-20250514", "2026-06-15", "anthropic/claude-sonnet-4-5"),
    ("anthropic/claude-3-5-haiku-20241022", "2026-02-19", "anthropic/claude-haiku-4-5"),
    ("openai/o1-mini", "2025-10-27", "openai/o4-mini"),
    ("gemini/gemini-2.0-flash", "2026-06-01", "gemini/gemini-2.5-flash"),
    ("mistral/codestral-2501", "2025-11-30", "mistral/codestral-2508"),
    ("mistral/open-mixtral-8x7b", "2025-03-30", "mistral/mistral-small-latest"),
]


@pytest.mark.parametrize(("model", "date", "instead"), RETIRED)
def test_retired_models_raise_before_any_request(model: str, date: str, instead: str, emu, client) -> None:
    before = len(emu.requests)
    msg = f"model {model} was retired on {date}; use {instead} instead"
    with pytest.raises(llmkit.ConfigError, match=msg):
        client.chat(model, "Hi")
    with pytest.raises(llmkit.ConfigError, match=msg):
        client.chat(model, "Hi", stream=True)
    assert len(emu.requests) == before


def test_deprecated_model_warns_once_with_date_and_replacement(emu, client) -> None:
    for name in ("claude-opus-4-1", "claude-opus-4-1-20250805"):
        _registry._warned.discard(("anthropic", name))
    with pytest.warns(llmkit.ModelDeprecationWarning) as caught:
        resp = client.chat("anthropic/claude-opus-4-1", "Hi", max_tokens=16)
    assert resp.text == "You said: Hi" and emu.last_request.json()["model"] == "claude-opus-4-1"
    assert [str(w.message) for w in caught] == [
        "model anthropic/claude-opus-4-1 is deprecated and shuts down on 2026-08-05; move to anthropic/claude-opus-4-5"
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second call must not warn again
        client.chat("anthropic/claude-opus-4-1", "Hi", max_tokens=16)


def test_deprecated_warning_is_visible_under_default_filters() -> None:
    assert issubclass(llmkit.ModelDeprecationWarning, FutureWarning)  # shown by default, unlike DeprecationWarning


def test_codegen_diff_reports_lifecycle_changes() -> None:
    old = {"openai": {"models": [{"id": "gpt-x"}, {"id": "gpt-y"}]}}
    lc = {"status": "deprecated", "date": "2026-01-01", "replacement": "gpt-z"}
    new = {
        "openai": {"models": [{"id": "gpt-x", "lifecycle": lc}, {"id": "gpt-y", "lifecycle": {"status": "retired"}}]}
    }
    changes = spec_changes(old, new)
    assert [(c.line, c.breaking) for c in changes] == [
        (f"openai/gpt-x: lifecycle - -> {lc}", False),
        ("openai/gpt-y: lifecycle - -> {'status': 'retired'}", True),
    ]
    closed = {"anyscale": {"models": [], "lifecycle": {"status": "closed", "date": "2024-08-01"}}}
    assert [c.line for c in spec_changes({"anyscale": {"models": []}}, closed)] == [
        "anyscale: lifecycle - -> {'status': 'closed', 'date': '2024-08-01'}"
    ]
