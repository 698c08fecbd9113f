"""Client-level behaviour that needs no provider: bad input, settings, secrets, imports, catalog."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest

import llmkit
from llmkit._registry import model_info, split_model
from llmkit._settings import Secret
from llmkit.testing import frozen_date


def test_split_model_at_first_slash_only() -> None:
    assert split_model("openrouter/meta-llama/llama-3.3-70b") == ("openrouter", "meta-llama/llama-3.3-70b")
    for bad in ("gpt-4o", "/gpt-4o", "openai/", ""):
        with pytest.raises(llmkit.ConfigError, match="expected 'provider/model'"):
            split_model(bad)


def test_unknown_provider_names_known_ones() -> None:
    c = llmkit.Client()
    with pytest.raises(llmkit.ConfigError, match="unknown provider 'nope'.*openai"):
        c.chat("nope/model", "hi")


def test_unknown_setting_and_bad_values() -> None:
    with pytest.raises(llmkit.ConfigError, match="unknown setting 'api_kee'"):
        llmkit.Client(providers={"openai": {"api_kee": "x"}}).chat("openai/gpt-4o", "x")
    with pytest.raises(llmkit.ConfigError, match="max_retries"):
        llmkit.Client(providers={"openai": {"api_key": "x", "max_retries": -1}}).chat("openai/gpt-4o", "x")
    with pytest.raises(llmkit.ConfigError, match="timeout"):
        llmkit.Client(providers={"openai": {"api_key": "x", "timeout": "soon"}}).chat("openai/gpt-4o", "x")
    with pytest.raises(llmkit.ConfigError, match="base_url"):
        llmkit.Client(providers={"openai": {"api_key": "x", "base_url": "ftp://x"}}).chat("openai/gpt-4o", "x")


def test_missing_key_is_a_clear_error_before_any_request() -> None:
    with pytest.raises(llmkit.ConfigError, match="no API key for 'openai'.*OPENAI_API_KEY"):
        llmkit.Client().chat("openai/gpt-4o", "hi")


def test_env_vars_are_read(monkeypatch, emu) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", emu.base_url("openai"))
    llmkit.Client().chat("openai/gpt-4o", "hi")
    assert emu.last_request.headers["authorization"] == "Bearer env-key"


def test_bad_messages_and_params() -> None:
    c = llmkit.Client(providers={"openai": {"api_key": "x"}})
    with pytest.raises(llmkit.ConfigError, match=r"messages\[0\].role"):
        c.chat("openai/gpt-4o", [{"role": "wizard", "content": "x"}])
    with pytest.raises(llmkit.ConfigError, match="tool_call_id"):
        c.chat("openai/gpt-4o", [{"role": "tool", "content": "x"}])
    with pytest.raises(llmkit.ConfigError, match="unknown type 'video'"):
        c.chat("openai/gpt-4o", [{"role": "user", "content": [{"type": "video"}]}])
    with pytest.raises(llmkit.ConfigError, match="non-empty list"):
        c.chat("openai/gpt-4o", [])
    with pytest.raises(llmkit.ConfigError, match="unknown chat parameter 'temprature'"):
        c.chat("openai/gpt-4o", "x", temprature=1)
    with pytest.raises(llmkit.ConfigError, match="max_tokens"):
        c.chat("openai/gpt-4o", "x", max_tokens=0)
    with pytest.raises(llmkit.ConfigError, match="function name"):
        c.chat("openai/gpt-4o", "x", tools=[{"type": "function", "function": {}}])
    with pytest.raises(llmkit.ConfigError, match="response_format"):
        c.chat("openai/gpt-4o", "x", response_format={"type": "xml"})
    with pytest.raises(llmkit.ConfigError, match="exactly one of"):
        llmkit.ImagePart()


def test_secrets_never_show() -> None:
    s = Secret("sk-very-secret")
    assert "sk-very" not in repr(s) and "sk-very" not in str(s) and s.get() == "sk-very-secret"
    c = llmkit.Client(providers={"openai": {"api_key": "sk-very-secret"}})
    assert "sk-very" not in repr(c)
    c.chat  # noqa: B018
    t = c._transport("openai", c._spec("openai"))
    assert "sk-very" not in repr(t.settings)


def test_key_not_in_errors(emu) -> None:
    c = llmkit.Client(
        providers={"openai": {"api_key": "sk-leak-me", "base_url": emu.base_url("openai"), "max_retries": 0}}
    )
    emu.queue_error("openai", 401, "Incorrect API key provided")
    with pytest.raises(llmkit.AuthenticationError) as info:
        c.chat("openai/gpt-4o", "x")
    assert "sk-leak-me" not in str(info.value) and "sk-leak-me" not in repr(info.value)


def test_connection_refused_is_typed() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    c = llmkit.Client(
        providers={"openai": {"api_key": "x", "base_url": f"http://127.0.0.1:{port}/v1", "max_retries": 0}}
    )
    with pytest.raises(llmkit.ConnectionError, match="could not reach openai"):
        c.chat("openai/gpt-4o", "x")


def test_fallback_chain_moves_on_after_retryable_failures(emu) -> None:
    c = emu.client()
    emu.queue_error("openai", 503, "down")
    resp = c.chat(["openai/gpt-4o", "openai/gpt-4o-mini"], "hello")
    assert resp.model == "gpt-4o-mini" and len(resp.errors) == 1
    assert isinstance(resp.errors[0], llmkit.ServerError)
    emu.queue_error("openai", 400, "bad")
    with pytest.raises(llmkit.BadRequestError):
        c.chat(["openai/gpt-4o", "openai/gpt-4o-mini"], "hello")


def test_retired_model_fails_before_request() -> None:
    c = llmkit.Client(providers={"openai": {"api_key": "x"}})
    with pytest.raises(llmkit.ConfigError, match="retired on 2025-10-27; use openai/o4-mini instead"):
        c.chat("openai/o1-mini", "x")


def test_deprecated_model_warns_once(monkeypatch) -> None:
    import attrs

    from llmkit import _registry
    from llmkit._spec import Lifecycle

    info = model_info("openai", "gpt-4o")
    assert info is not None
    lc = Lifecycle(deprecated="2026-01-01", retires="2027-01-01", replacement="gpt-4.1")
    dep = attrs.evolve(info, lifecycle=lc)
    index = dict(_registry._catalog_index())
    index[("openai", "gpt-4o")] = dep
    monkeypatch.setattr(_registry, "_catalog_index", lambda: index)
    with frozen_date("2026-06-01"), warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("default")
        model_info("openai", "gpt-4o")
        model_info("openai", "gpt-4o")
    assert len(seen) == 1 and issubclass(seen[0].category, llmkit.ModelDeprecationWarning)
    assert str(seen[0].message) == (
        "model openai/gpt-4o was deprecated on 2026-01-01; retires on 2027-01-01; use openai/gpt-4.1 instead"
    )


def test_import_is_lazy() -> None:
    code = (
        "import sys, llmkit\n"
        "bad = [m for m in sys.modules if m.startswith(('llmkit.generated.providers', 'jinja2', 'yaml',"
        " 'datamodel_code_generator', 'llmkit.generated.catalog'))]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_catalog_listing() -> None:
    ids = [p["id"] for p in llmkit.providers()]
    assert "openai" in ids
    openai = next(p for p in llmkit.providers() if p["id"] == "openai")
    assert openai["dialect"] == "openai_chat" and "OPENAI_API_KEY" in openai["env"]
    mini = next(m for m in llmkit.models("openai") if m.id == "gpt-4o-mini")
    assert mini.context_window == 128000 and mini.price.input == 0.15 and mini.price.cached_input == 0.075
    assert mini.capabilities.tools and not mini.capabilities.reasoning
    with pytest.raises(llmkit.ConfigError):
        llmkit.models("nope")


def test_cached_tokens_cost() -> None:
    from llmkit._features import cost_usd

    info = model_info("openai", "gpt-4o-mini")
    usage = llmkit.Usage(input_tokens=1_000_000, output_tokens=1_000_000, cached_input_tokens=400_000)
    assert cost_usd(info, usage) == pytest.approx(0.6 * 0.15 + 0.4 * 0.075 + 0.6)


def test_message_to_dict_round_trip() -> None:
    m = llmkit.Message(
        role="assistant", content="hi", tool_calls=[llmkit.ToolCall(id="c1", name="f", arguments={"a": 1})]
    )
    assert m.to_dict() == {
        "role": "assistant",
        "content": "hi",
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": 1}'}}],
    }


def test_auth_override_hook_is_used(emu, monkeypatch) -> None:
    """`auth: {scheme: override}` hands auth to the module the spec names in overrides."""
    import types

    import attrs
    import httpx

    from llmkit._registry import provider_spec
    from llmkit._settings import resolve_settings
    from llmkit._spec import AuthSpec
    from llmkit._transport import ProviderTransport
    from llmkit.dialects._base import WireRequest
    from llmkit.dialects.openai_chat import DIALECT

    class BearerFromSettings(httpx.Auth):
        def __init__(self, key: str) -> None:
            self.key = key

        def auth_flow(self, request):  # type: ignore[no-untyped-def]
            request.headers["Authorization"] = f"Bearer {self.key}-signed"
            yield request

    module = types.ModuleType("llmkit.overrides.fake_auth")
    module.auth = lambda settings: BearerFromSettings(settings.secret("api_key"))  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "llmkit.overrides.fake_auth", module)
    spec = attrs.evolve(provider_spec("openai"), auth=AuthSpec(scheme="override"), overrides=(("auth", "fake_auth"),))
    settings = resolve_settings(spec, {"api_key": "k1", "base_url": emu.base_url("openai")})
    t = ProviderTransport(settings, DIALECT)
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]}
    t.send(WireRequest(method="POST", path="/chat/completions", body=body))
    assert emu.last_request.headers["authorization"] == "Bearer k1-signed"
    t.close()
