"""Anyscale, Lambda, Lepton and Modal: hosts whose endpoint is the user's own deployment.

Without a `base_url` a call fails before any request, saying what happened to the public
endpoint (with its date where it closed) and what to pass; with one it is an ordinary
OpenAI-compatible server (the emulator), with each host's auth form.
"""

from __future__ import annotations

import pytest

import llmkit
from llmkit._registry import provider_spec

HOSTS = ["anyscale", "lambda", "lepton", "modal"]
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
CLOSED = {
    "anyscale": r"its shared public API closed on 2024-08-01\. The multi-tenant Endpoints API "
    r"\(https://api\.endpoints\.anyscale\.com/v1\) was removed",
    "lambda": r"its shared public API closed on 2025-09-25\. The Lambda Inference API \(https://api\.lambda\.ai/v1\)",
    "lepton": r"its shared public API closed\. Lepton AI became NVIDIA DGX Cloud Lepton",
    "modal": r"it has no shared public API\. Modal never had a shared LLM endpoint",
}


@pytest.mark.parametrize("pid", HOSTS)
def test_without_base_url_the_call_fails_before_any_request(pid: str, emu) -> None:
    before = len(emu.requests)
    with llmkit.Client(providers={pid: {"api_key": "k"}}) as c:
        with pytest.raises(llmkit.ConfigError, match=CLOSED[pid]) as info:
            c.chat(f"{pid}/{MODEL}", "Hi")
        with pytest.raises(llmkit.ConfigError):
            c.chat(f"{pid}/{MODEL}", "Hi", stream=True)
    assert len(emu.requests) == before
    assert info.value.provider == pid
    assert f"pass providers={{'{pid}': {{'base_url': 'https://<your deployment>/v1', 'api_key': ...}}}}" in str(
        info.value
    )


@pytest.mark.parametrize("pid", HOSTS)
def test_with_a_base_url_it_works(pid: str, emu) -> None:
    base = emu.base_url(pid)
    with llmkit.Client(providers={pid: {"api_key": "sk-own", "base_url": base, "max_retries": 0}}) as c:
        resp = c.chat(f"{pid}/{MODEL}", "Hi", max_tokens=8)
        with c.chat(f"{pid}/{MODEL}", "Hello stream", stream=True) as stream:
            text = "".join(stream.text_stream)
    req = emu.requests[-2]
    assert (req.method, req.path) == ("POST", f"/{pid}/v1/chat/completions")
    assert req.headers["authorization"] == "Bearer sk-own"
    assert req.json() == {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8}
    assert (resp.text, resp.provider, text) == ("You said: Hi", pid, "You said: Hello stream")
    assert emu.last_request.json()["stream_options"] == {"include_usage": True}


def test_base_url_from_the_env(emu, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYSCALE_BASE_URL", emu.base_url("anyscale"))
    monkeypatch.setenv("ANYSCALE_API_KEY", "esecret_abc")
    with llmkit.Client(providers={"anyscale": {"max_retries": 0}}) as c:
        assert c.chat(f"anyscale/{MODEL}", "Hi").text == "You said: Hi"
    assert emu.last_request.headers["authorization"] == "Bearer esecret_abc"


def test_keys_where_required(emu) -> None:
    before = len(emu.requests)
    no_key = {"lambda": {"base_url": emu.base_url("lambda")}}
    with llmkit.Client(providers=no_key) as c, pytest.raises(llmkit.ConfigError, match="no API key for 'lambda'"):
        c.chat(f"lambda/{MODEL}", "Hi")
    assert len(emu.requests) == before
    # A public Lepton endpoint needs no token, so none is sent.
    with llmkit.Client(providers={"lepton": {"base_url": emu.base_url("lepton"), "max_retries": 0}}) as c:
        assert c.chat(f"lepton/{MODEL}", "Hi").text == "You said: Hi"
    assert "authorization" not in emu.last_request.headers


def test_modal_proxy_auth_headers(emu) -> None:
    settings = {"base_url": emu.base_url("modal"), "modal_key": "wk-123", "modal_secret": "ws-456", "max_retries": 0}
    with llmkit.Client(providers={"modal": settings}) as c:
        assert c.chat("modal/my-model", "Hi").text == "You said: Hi"
        assert "ws-456" not in repr(c._settings("modal", provider_spec("modal")))
    headers = emu.last_request.headers
    assert (headers["modal-key"], headers["modal-secret"]) == ("wk-123", "ws-456")
    assert "authorization" not in headers


def test_specs_record_the_closure() -> None:
    lc = provider_spec("anyscale").extra["lifecycle"]
    assert (lc.status, lc.date) == ("closed", "2024-08-01")
    assert provider_spec("lambda").extra["lifecycle"].date == "2025-09-25"
    assert provider_spec("lepton").extra["lifecycle"].date is None  # no published date: none invented
    assert all(provider_spec(p).base_url is None for p in HOSTS)
