"""Model lifecycles from the specs: dates, not a stored status.

A model is deprecated from its deprecation date (warned once per process, naming both dates and
the replacement) and retired from its retirement date (ConfigError before any request), judged
against today's UTC date or the one `llmkit.testing.frozen_date` fixes. The schema and codegen
reject impossible lifecycles, and `codegen diff` reports each field change.
"""

from __future__ import annotations

import asyncio
import shutil
import warnings
from pathlib import Path

import attrs
import pytest
import yaml

import llmkit
from codegen.diff import render_markdown, spec_changes
from codegen.spec import SpecError, load_provider_specs, load_wire_schemas
from llmkit import _registry
from llmkit._spec import Lifecycle
from llmkit.testing import frozen_date

ROOT = Path(__file__).resolve().parents[1]
OPUS_41 = "model anthropic/claude-opus-4-1 was deprecated on 2026-06-05; retires on 2026-08-05; use anthropic/claude-opus-4-5 instead"

# Shutdown dates already past on the real calendar: retired whatever day the suite runs.
RETIRED = [
    ("anthropic/claude-opus-4-1", "2026-08-05", "anthropic/claude-opus-4-5"),
    ("anthropic/claude-opus-4-1-20250805", "2026-08-05", "anthropic/claude-opus-4-5"),
    ("anthropic/claude-sonnet-4-20250514", "2026-06-15", "anthropic/claude-sonnet-4-5"),
    ("anthropic/claude-3-5-haiku-20241022", "2026-02-19", "anthropic/claude-haiku-4-5"),
    ("openai/o1-mini", "2025-10-27", "openai/o4-mini"),
    ("gemini/gemini-2.0-flash", "2026-06-01", "gemini/gemini-2.5-flash"),
    ("mistral/codestral-2501", "2025-11-30", "mistral/codestral-2508"),
    ("mistral/open-mixtral-8x7b", "2025-03-30", "mistral/mistral-small-latest"),
    ("moonshot/kimi-k2-0905-preview", "2026-05-25", "moonshot/kimi-k2.6"),
    ("moonshot/kimi-k2-thinking", "2026-05-25", "moonshot/kimi-k2.6"),
]


@pytest.mark.parametrize(("model", "date", "instead"), RETIRED)
def test_past_retirement_raises_before_any_request(model: str, date: str, instead: str, emu, client) -> None:
    provider, name = model.split("/", 1)
    msg = (
        f"model {model} was retired on {date}; use {instead} instead. If {provider} still serves it to you, "
        f"allow it with providers={{'{provider}': {{'allow_retired_models': ['{name}']}}}}"
    )
    for stream in (False, True):
        with pytest.raises(llmkit.ConfigError) as info:
            client.chat(model, "Hi", stream=stream)
        assert str(info.value) == f"[{provider}] {msg}"
    assert emu.requests == []


def test_retired_model_raises_in_the_async_client_too(emu) -> None:
    async def run() -> None:
        async with emu.async_client() as ac:
            with pytest.raises(llmkit.ConfigError, match="retired on 2026-05-25; use moonshot/kimi-k2.6 instead"):
                await ac.chat("moonshot/kimi-k2-turbo-preview", "Hi")

    asyncio.run(run())
    assert emu.requests == []


def test_deprecated_before_retirement_warns_once_with_both_dates(emu, client) -> None:
    with frozen_date("2026-07-01"), pytest.warns(llmkit.ModelDeprecationWarning) as caught:
        resp = client.chat("anthropic/claude-opus-4-1", "Hi", max_tokens=16)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # neither a second call nor the dated alias warns again
            client.chat("anthropic/claude-opus-4-1", "Hi", max_tokens=16)
            client.chat("anthropic/claude-opus-4-1-20250805", "Hi", max_tokens=16)
    assert [str(w.message) for w in caught] == [OPUS_41]
    assert caught[0].filename == __file__  # the warning names the caller's line, not llmkit's
    assert resp.text == "You said: Hi"
    assert [r.json()["model"] for r in emu.requests] == [
        "claude-opus-4-1",
        "claude-opus-4-1",
        "claude-opus-4-1-20250805",
    ]
    assert all((r.method, r.path) == ("POST", "/anthropic/v1/messages") for r in emu.requests)


def test_status_follows_the_injected_clock(emu, client) -> None:
    """The same catalog entry is active, then deprecated, then retired as the date moves."""
    with frozen_date("2026-06-04"), warnings.catch_warnings():
        warnings.simplefilter("error")
        client.chat("anthropic/claude-opus-4-1", "Hi", max_tokens=16)  # before its deprecation: silent
    with frozen_date("2026-06-05"), pytest.warns(llmkit.ModelDeprecationWarning, match="deprecated on 2026-06-05"):
        client.chat("anthropic/claude-opus-4-1", "Hi", max_tokens=16)
    with frozen_date("2026-08-04"), pytest.warns(llmkit.ModelDeprecationWarning, match="retires on 2026-08-05"):
        client.chat("anthropic/claude-opus-4-1", "Hi", max_tokens=16)  # the last day it is served
    assert len(emu.requests) == 3
    with frozen_date("2026-08-05"), pytest.raises(llmkit.ConfigError, match="was retired on 2026-08-05"):
        client.chat("anthropic/claude-opus-4-1", "Hi", max_tokens=16)  # shutdown day itself
    assert len(emu.requests) == 3


def test_lifecycle_status_rules() -> None:
    import datetime

    day = datetime.date.fromisoformat
    both = Lifecycle(deprecated="2026-06-05", retires="2026-08-05")
    assert [both.status_on(day(d)) for d in ("2026-06-04", "2026-06-05", "2026-08-04", "2026-08-05")] == [
        "active",
        "deprecated",
        "deprecated",
        "retired",
    ]
    only_retires = Lifecycle(retires="2026-08-05")  # a scheduled shutdown is a deprecation already
    assert only_retires.status_on(day("2020-01-01")) == "deprecated"
    assert Lifecycle(undated=True).status_on(day("2020-01-01")) == "deprecated"
    assert Lifecycle(deprecated="2030-01-01").status_on(day("2026-01-01")) == "active"


def test_every_unified_call_checks_the_lifecycle(emu, client, monkeypatch) -> None:
    """Embeddings and token counting go through the same check as chat."""
    index = _registry._catalog_index()
    for key, instead in (
        (("openai", "text-embedding-3-small"), "text-embedding-3-large"),
        (("anthropic", "claude-sonnet-4-5"), None),
    ):
        gone = Lifecycle(deprecated="2030-01-01", retires="2030-06-01", replacement=instead)
        monkeypatch.setitem(index, key, attrs.evolve(index[key], lifecycle=gone))
    with frozen_date("2030-06-01"):
        with pytest.raises(
            llmkit.ConfigError,
            match="openai/text-embedding-3-small was retired on 2030-06-01; use openai/text-embedding-3-large instead",
        ):
            client.embed("openai/text-embedding-3-small", ["a cat"])
        with pytest.raises(llmkit.ConfigError, match="anthropic/claude-sonnet-4-5 was retired on 2030-06-01"):
            client.count_tokens("anthropic/claude-sonnet-4-5", "Hi")
    assert emu.requests == []
    with frozen_date("2030-01-02"), pytest.warns(llmkit.ModelDeprecationWarning, match="retires on 2030-06-01"):
        out = client.embed("openai/text-embedding-3-small", ["a cat"])
    assert len(out.vectors) == 1
    assert (emu.last_request.path, emu.last_request.json()["model"]) == (
        "/openai/v1/embeddings",
        "text-embedding-3-small",
    )


def test_allow_retired_models_is_explicit_per_model(emu) -> None:
    """The escape hatch sends the request (with a warning); the emulator, like Anthropic for a
    retired model, answers 404 not_found_error, which surfaces as the provider's own error."""
    with emu.client(allow_retired_models=["claude-3-5-haiku-20241022"]) as c:
        with (
            pytest.warns(llmkit.ModelDeprecationWarning, match="called anyway: allow_retired_models"),
            pytest.raises(llmkit.NotFoundError, match="model: claude-3-5-haiku-20241022"),
        ):
            c.chat("anthropic/claude-3-5-haiku-20241022", "Hi", max_tokens=16)
        req = emu.last_request
        assert (req.method, req.path, req.headers["x-api-key"]) == ("POST", "/anthropic/v1/messages", "test-key")
        assert req.json() == {
            "model": "claude-3-5-haiku-20241022",
            "max_tokens": 16,
            "messages": [{"role": "user", "content": "Hi"}],
        }
        with pytest.raises(llmkit.ConfigError, match="claude-sonnet-4-20250514 was retired"):
            c.chat("anthropic/claude-sonnet-4-20250514", "Hi")  # only the named model is allowed
    with (
        emu.client(allow_retired_models=True) as c,
        pytest.raises(llmkit.ConfigError, match="allow_retired_models for 'anthropic' must be a list of model ids"),
    ):
        c.chat("anthropic/claude-3-5-haiku-20241022", "Hi")
    assert len(emu.requests) == 1


def test_list_models_marks_status_from_dates(emu, client) -> None:
    def model(mid: str) -> dict[str, str]:
        return {"type": "model", "id": mid, "display_name": mid, "created_at": "2025-09-29T00:00:00Z"}

    ids = ["claude-sonnet-4-5", "claude-opus-4-1", "claude-3-5-haiku-20241022", "claude-new-1"]
    body = {"data": [model(i) for i in ids], "has_more": False, "first_id": ids[0], "last_id": ids[-1]}
    emu.queue_json("anthropic", body)
    with frozen_date("2026-07-01"):
        listed = {m.id: m for m in client.list_models("anthropic")}
    req = emu.last_request
    assert (req.method, req.path, req.query) == ("GET", "/anthropic/v1/models", {"limit": "1000"})
    assert {i: listed[i].status for i in ids} == {
        "claude-sonnet-4-5": "active",
        "claude-opus-4-1": "deprecated",
        "claude-3-5-haiku-20241022": "retired",
        "claude-new-1": "active",
    }
    assert listed["claude-opus-4-1"].lifecycle is not None
    assert listed["claude-opus-4-1"].lifecycle.retires == "2026-08-05"
    emu.queue_json(
        "openai",
        {"object": "list", "data": [
            {"id": "gpt-old", "object": "model", "created": 1, "owned_by": "system", "shutdown_date": "2026-01-15"},
            {"id": "gpt-soon", "object": "model", "created": 1, "owned_by": "system", "shutdown_date": "2027-01-15"},
        ]},
    )  # fmt: skip
    with frozen_date("2026-07-01"):
        live = {m.id: m for m in client.list_models("openai")}
    assert (live["gpt-old"].status, live["gpt-soon"].status) == ("retired", "deprecated")
    assert live["gpt-soon"].lifecycle == Lifecycle(retires="2027-01-15", note="from the live listing")


# -- schema and codegen ------------------------------------------------------------------------


@pytest.fixture
def specs_root(tmp_path: Path) -> Path:
    """A copy of what load_provider_specs reads, to break on purpose."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    shutil.copytree(ROOT / "overrides", tmp_path / "overrides", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "llmkit" / "dialects", tmp_path / "llmkit" / "dialects")
    return tmp_path


def _set_lifecycle(root: Path, provider: str, model: str, lc: object) -> str:
    path = root / "specs" / "providers" / f"{provider}.yaml"
    data = yaml.safe_load(path.read_text())
    i = next(n for n, m in enumerate(data["models"]) if m["id"] == model)
    data["models"][i]["lifecycle"] = lc
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return f"models[{i}].lifecycle"


@pytest.mark.parametrize(
    ("lc", "where", "reason"),
    [
        ({"retires": "2026-02-30"}, ".retires", "'2026-02-30' is not a real date (YYYY-MM-DD)"),
        ({"deprecated": "June 5"}, ".deprecated", "'June 5' does not match"),
        (
            {"deprecated": "2026-08-05", "retires": "2026-06-05"},
            ".retires",
            "retires 2026-06-05 is before deprecated 2026-08-05",
        ),
        ({"replacement": "claude-opus-4-5"}, "", "a lifecycle needs `deprecated` or `retires`"),
        ({"retires": "2026-08-05", "status": "retired"}, "", "'status' was unexpected"),
        (
            {"retires": "2026-08-05", "replacement": "claude-opus-9"},
            ".replacement",
            "replacement 'claude-opus-9' is not a model of this spec",
        ),
        (
            {"retires": "2026-08-05", "replacement": "openai/gpt-99"},
            ".replacement",
            "replacement 'openai/gpt-99' names no model of this spec and no existing provider/model",
        ),
    ],
)
def test_spec_rejects_bad_lifecycles(specs_root: Path, lc: dict, where: str, reason: str) -> None:
    path = _set_lifecycle(specs_root, "anthropic", "claude-opus-4-1", lc)
    with pytest.raises(SpecError) as info:
        load_provider_specs(specs_root, load_wire_schemas(specs_root))
    assert (info.value.file, info.value.path) == ("specs/providers/anthropic.yaml", path + where)
    assert reason in info.value.reason


def test_spec_rejects_an_unreal_endpoint_closure_date(specs_root: Path) -> None:
    path = specs_root / "specs" / "providers" / "lambda.yaml"
    data = yaml.safe_load(path.read_text())
    data["lifecycle"]["date"] = "2025-09-31"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(SpecError) as info:
        load_provider_specs(specs_root, load_wire_schemas(specs_root))
    assert (info.value.file, info.value.path) == ("specs/providers/lambda.yaml", "lifecycle.date")
    assert info.value.reason == "'2025-09-31' is not a real date (YYYY-MM-DD)"


def test_closed_endpoint_still_raises_with_its_date() -> None:
    with pytest.raises(llmkit.ConfigError, match=r"its shared public API closed on 2025-09-25") as info:
        llmkit.Client().chat("lambda/llama3.1-8b-instruct", "Hi")
    assert "base_url" in str(info.value)


def test_spec_accepts_a_replacement_in_another_provider(specs_root: Path) -> None:
    _set_lifecycle(specs_root, "anthropic", "claude-opus-4-1", {"retires": "2026-08-05", "replacement": "openai/gpt-5"})
    specs = {d["id"]: d for d in load_provider_specs(specs_root, load_wire_schemas(specs_root))}
    opus = next(m for m in specs["anthropic"]["models"] if m["id"] == "claude-opus-4-1")
    assert opus["lifecycle"] == {"retires": "2026-08-05", "replacement": "openai/gpt-5"}


def test_codegen_diff_reports_each_lifecycle_field() -> None:
    old_lc = {"deprecated": "2026-06-05", "retires": "2026-08-05", "replacement": "claude-opus-4-5"}
    new_lc = {"deprecated": "2026-06-05", "retires": "2026-09-01", "replacement": "claude-opus-4-5", "note": "extended"}
    old = {"anthropic": {"models": [{"id": "claude-opus-4-1", "lifecycle": old_lc}, {"id": "claude-x"}]}}
    new = {
        "anthropic": {
            "models": [
                {"id": "claude-opus-4-1", "lifecycle": new_lc},
                {"id": "claude-x", "lifecycle": {"deprecated": "2027-01-01"}},
            ]
        }
    }
    changes = spec_changes(old, new)
    assert [(c.line, c.breaking) for c in changes] == [
        ("anthropic/claude-opus-4-1: lifecycle note - -> extended", False),
        ("anthropic/claude-opus-4-1: lifecycle retires 2026-08-05 -> 2026-09-01", True),
        ("anthropic/claude-x: lifecycle deprecated - -> 2027-01-01", False),
    ]
    assert "- :warning: anthropic/claude-opus-4-1: lifecycle retires 2026-08-05 -> 2026-09-01" in render_markdown(
        changes
    )
    closed = {"anyscale": {"models": [], "lifecycle": {"status": "closed", "date": "2024-08-01"}}}
    assert [(c.line, c.breaking) for c in spec_changes({"anyscale": {"models": []}}, closed)] == [
        ("anyscale: lifecycle date - -> 2024-08-01", False),
        ("anyscale: lifecycle status - -> closed", True),
    ]


def test_generated_catalog_carries_the_dates() -> None:
    info = next(m for m in llmkit.models("anthropic") if m.id == "claude-opus-4-1")
    assert info.lifecycle is not None
    assert (info.lifecycle.deprecated, info.lifecycle.retires, info.lifecycle.replacement) == (
        "2026-06-05",
        "2026-08-05",
        "claude-opus-4-5",
    )
    assert info.lifecycle.source.startswith("https://")
    page = (ROOT / "docs" / "providers" / "anthropic.md").read_text()
    assert "| `claude-opus-4-1` | 2026-06-05 | 2026-08-05 | `claude-opus-4-5` |" in page


def test_deprecated_warning_is_visible_under_default_filters() -> None:
    assert issubclass(llmkit.ModelDeprecationWarning, FutureWarning)  # shown by default, unlike DeprecationWarning
