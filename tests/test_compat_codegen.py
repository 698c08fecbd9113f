"""Principle 1: an OpenAI-compatible provider is one YAML file and `make generate`.

A temp copy of everything codegen reads gets one new spec; the generator runs there; the only
changes are the new provider's module and docs page plus its rows in the dispatch table, the
catalog and the feature matrix. The rendered module then chats with a local server through the
unchanged openai_chat adapter and transport.
"""

from __future__ import annotations

import importlib.util
import shutil
import textwrap
from pathlib import Path
from types import ModuleType

from codegen.__main__ import main

ROOT = Path(__file__).resolve().parent.parent

ACME = textwrap.dedent(
    """\
    id: acme
    name: Acme Inference
    dialect: openai_chat
    wire: openai_chat
    base_url: https://api.acme.example/v1
    auth: {scheme: header, header: Authorization, prefix: "Bearer "}
    settings:
      api_key: {env: [ACME_API_KEY], secret: true}
      base_url: {env: [ACME_BASE_URL]}
    operations:
      create_chat_completion:
        method: POST
        path: /chat/completions
        request: CreateChatCompletionRequest
        response: CreateChatCompletionResponse
        stream: sse
        stream_event: ChatCompletionChunk
    capabilities: {chat: true, streaming: true, tools: true, stream_usage: true, temperature: true}
    quirks: [max_tokens_field]
    price_source: made up for this test
    models:
      - id: acme-large
        context_window: 65536
        price: {input: 1.0, output: 2.0}
    """
)


def _copy_inputs(dst: Path) -> None:
    """What `python -m codegen generate` reads (and the outputs it compares against)."""
    for name in ("specs", "templates", "generated", "overrides"):
        shutil.copytree(ROOT / name, dst / name, ignore=shutil.ignore_patterns("__pycache__"))
    (dst / "docs").mkdir()
    shutil.copytree(ROOT / "docs" / "providers", dst / "docs" / "providers")
    shutil.copy(ROOT / "docs" / "features.md", dst / "docs" / "features.md")
    (dst / "llmkit" / "dialects").mkdir(parents=True)
    for d in (ROOT / "llmkit" / "dialects").glob("*.py"):
        shutil.copy(d, dst / "llmkit" / "dialects" / d.name)
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")


def _snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for sub in ("generated", "docs"):
        for p in sorted((root / sub).rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts:
                out[str(p.relative_to(root))] = p.read_bytes()
    return out


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_new_compatible_spec_is_one_file_and_generate(tmp_path: Path, emu) -> None:
    root = tmp_path / "repo"
    _copy_inputs(root)
    assert main(["--root", str(root), "generate"]) == 0  # a fresh copy is already in sync
    before = _snapshot(root)
    (root / "specs" / "providers" / "acme.yaml").write_text(ACME, encoding="utf-8")
    assert main(["--root", str(root), "generate"]) == 0
    after = _snapshot(root)

    added = sorted(after.keys() - before.keys())
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    assert added == ["docs/providers/acme.md", "generated/providers/acme.py"]
    assert changed == ["docs/features.md", "generated/catalog.py", "generated/dispatch.py"]
    assert before.keys() - after.keys() == set()

    dispatch = _load(root / "generated" / "dispatch.py", "acme_dispatch")
    assert dispatch.PROVIDERS["acme"] == "llmkit.generated.providers.acme"
    assert dispatch.CLIENT_CLASSES["acme"] == ("AcmeInferenceClient", "AsyncAcmeInferenceClient")
    catalog = _load(root / "generated" / "catalog.py", "acme_catalog")
    (row,) = [m for m in catalog.MODELS if m.provider == "acme"]
    assert (row.id, row.context_window, row.price.input, row.price.output) == ("acme-large", 65536, 1.0, 2.0)
    assert catalog.PROVIDER_INFO["acme"]["env"] == ("ACME_API_KEY", "ACME_BASE_URL")
    assert catalog.PROVIDER_CAPABILITIES["acme"].tools is True
    assert "| [`acme`](providers/acme.md) | `openai_chat` | yes | yes | yes |" in after["docs/features.md"].decode()

    # The rendered module drives the unchanged adapter and transport against a real local server.
    from llmkit._settings import resolve_settings
    from llmkit._transport import ProviderTransport
    from llmkit._types import ChatRequest, Message
    from llmkit.dialects._base import CallContext
    from llmkit.dialects.openai_chat import DIALECT

    spec = _load(root / "generated" / "providers" / "acme.py", "acme_provider").SPEC
    settings = resolve_settings(spec, {"api_key": "acme-key", "base_url": emu.base_url("vllm"), "max_retries": 0})
    ctx = CallContext(spec=spec, model="acme-large")
    wire = DIALECT.chat_request(
        ChatRequest(model="acme-large", messages=[Message(role="user", content="Hello acme")], max_tokens=9), ctx
    )
    transport = ProviderTransport(settings, DIALECT)
    try:
        resp = DIALECT.parse_chat(transport.send(wire).json(), ctx)
    finally:
        transport.close()
    req = emu.last_request
    assert req.path == "/vllm/v1/chat/completions" and req.headers["authorization"] == "Bearer acme-key"
    assert req.json() == {
        "model": "acme-large",
        "messages": [{"role": "user", "content": "Hello acme"}],
        "max_tokens": 9,
    }
    assert (resp.provider, resp.text) == ("acme", "You said: Hello acme")
