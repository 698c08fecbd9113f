"""`client.list_models(provider)` on the wire: each listing form, its paging, and the catalog merge.

Pages are scripted with the emulator where the exact cursor hand-off matters (Anthropic's
`after_id` = `last_id`, Gemini's `pageToken` = `nextPageToken`, Cohere's `page_token`); the
emulators' own paging is exercised directly.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

import llmkit
from llmkit.cli import main


def test_openai_family_lists_and_merges_the_catalog(emu, client) -> None:
    emu.queue_json(
        "openai",
        {
            "object": "list",
            "data": [
                {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
                {"id": "ft:gpt-4o-mini:acme::7p4lURel", "object": "model", "created": 1, "owned_by": "acme",
                 "shutdown_date": None},
                {"id": "gpt-9-preview", "object": "model", "created": 2, "owned_by": "system",
                 "shutdown_date": "2027-01-15"},
            ],
        },
    )  # fmt: skip
    listed = {m.id: m for m in client.list_models("openai")}
    req = emu.last_request
    assert (req.method, req.path, req.query, req.body) == ("GET", "/openai/v1/models", {}, b"")
    assert req.headers["authorization"] == "Bearer test-key"
    mini = listed["gpt-4o-mini"]
    catalog = next(m for m in llmkit.models("openai") if m.id == "gpt-4o-mini")
    assert mini.in_catalog and (mini.context_window, mini.price) == (catalog.context_window, catalog.price)
    assert mini.capabilities == catalog.capabilities and mini.owned_by == "system"
    ft = listed["ft:gpt-4o-mini:acme::7p4lURel"]
    assert not ft.in_catalog and ft.price.input is None and ft.context_window is None and ft.lifecycle is None
    assert listed["gpt-9-preview"].lifecycle == llmkit._spec.Lifecycle(
        retires="2027-01-15", note="from the live listing"
    )


def test_anthropic_pages_with_after_id(emu, client) -> None:
    def model(mid: str) -> dict:
        return {"type": "model", "id": mid, "display_name": mid.upper(), "created_at": "2025-09-29T00:00:00Z"}

    emu.queue_json(
        "anthropic",
        {"data": [model("claude-sonnet-4-5-20250929"), model("claude-new-1")], "has_more": True,
         "first_id": "claude-sonnet-4-5-20250929", "last_id": "claude-new-1"},
    )  # fmt: skip
    emu.queue_json(
        "anthropic", {"data": [model("claude-old-0")], "has_more": False, "first_id": "x", "last_id": "claude-old-0"}
    )
    listed = client.list_models("anthropic")
    first, second = emu.requests[-2:]
    assert (first.path, first.query) == ("/anthropic/v1/models", {"limit": "1000"})
    assert (second.path, second.query) == ("/anthropic/v1/models", {"limit": "1000", "after_id": "claude-new-1"})
    assert second.headers["x-api-key"] == "test-key" and second.headers["anthropic-version"] == "2023-06-01"
    assert [(m.id, m.in_catalog) for m in listed] == [
        ("claude-sonnet-4-5-20250929", True),
        ("claude-new-1", False),
        ("claude-old-0", False),
    ]
    assert listed[0].display_name == "CLAUDE-SONNET-4-5-20250929" and listed[0].price.input is not None


def test_gemini_pages_with_page_token_and_strips_the_prefix(emu, client) -> None:
    emu.queue_json(
        "gemini",
        {"models": [{"name": "models/gemini-2.5-flash", "displayName": "Gemini 2.5 Flash", "inputTokenLimit": 1},
                    {"name": "models/gemini-exp-9", "inputTokenLimit": 2097152, "outputTokenLimit": 8192}],
         "nextPageToken": "Chx0b2tlbg"},
    )  # fmt: skip
    emu.queue_json("gemini", {"models": [{"name": "models/text-embedding-004", "inputTokenLimit": 2048}]})
    listed = {m.id: m for m in client.list_models("gemini")}
    first, second = emu.requests[-2:]
    assert (first.path, first.query) == ("/gemini/v1beta/models", {"pageSize": "1000"})
    assert second.query == {"pageSize": "1000", "pageToken": "Chx0b2tlbg"}
    assert second.headers["x-goog-api-key"] == "test-key"
    assert sorted(listed) == ["gemini-2.5-flash", "gemini-exp-9", "text-embedding-004"]
    assert listed["gemini-2.5-flash"].in_catalog and listed["gemini-2.5-flash"].context_window == 1048576
    exp = listed["gemini-exp-9"]
    assert not exp.in_catalog and (exp.context_window, exp.max_output_tokens) == (2097152, 8192)


def test_cohere_pages_with_page_token_and_names_as_ids(emu, client) -> None:
    emu.queue_json(
        "cohere",
        {"models": [{"name": "command-a-03-2025", "endpoints": ["chat"], "context_length": 256000.0,
                     "is_deprecated": False}],
         "next_page_token": "p2"},
    )  # fmt: skip
    emu.queue_json("cohere", {"models": [{"name": "command-r", "is_deprecated": True}], "next_page_token": None})
    listed = client.list_models("cohere")
    assert [r.query for r in emu.requests[-2:]] == [{"page_size": "1000"}, {"page_size": "1000", "page_token": "p2"}]
    assert [(m.id, m.in_catalog) for m in listed] == [("command-a-03-2025", True), ("command-r", False)]
    assert listed[1].lifecycle is not None and listed[1].lifecycle.undated and listed[1].status == "deprecated"


def test_ollama_tags(emu, client) -> None:
    listed = client.list_models("ollama")
    assert (emu.last_request.method, emu.last_request.path) == ("GET", "/ollama/api/tags")
    assert "llama3.2:latest" in {m.id for m in listed}


def test_the_emulators_page_like_the_providers(emu) -> None:
    key = {"x-api-key": "test-key", "anthropic-version": "2023-06-01"}
    with httpx.Client(base_url=emu.url) as http:
        page = http.get("/anthropic/v1/models", params={"limit": 2}, headers=key).json()
        assert len(page["data"]) == 2 and page["has_more"] is True
        nxt = http.get("/anthropic/v1/models", params={"limit": 2, "after_id": page["last_id"]}, headers=key).json()
        assert nxt["data"][0]["id"] not in {m["id"] for m in page["data"]}
        assert http.get("/anthropic/v1/models", params={"limit": 0}, headers=key).status_code == 400
        g = http.get("/gemini/v1beta/models", params={"pageSize": 2}, headers={"x-goog-api-key": "k"}).json()
        assert len(g["models"]) == 2 and g["nextPageToken"]
        rest = http.get(
            "/gemini/v1beta/models", params={"pageSize": 1000, "pageToken": g["nextPageToken"]},
            headers={"x-goog-api-key": "k"},
        ).json()  # fmt: skip
        assert "nextPageToken" not in rest and rest["models"][0]["name"] not in {m["name"] for m in g["models"]}
    # Unscripted, the client follows the emulators' pages to the end.
    with emu.client() as c:
        assert {m.id for m in c.list_models("anthropic")} >= {"claude-sonnet-4-5-20250929"}
        assert all(m.in_catalog for m in c.list_models("gemini"))


def test_a_provider_without_a_listing_refuses_before_any_request(emu, client) -> None:
    before = len(emu.requests)
    with pytest.raises(llmkit.UnsupportedFeatureError, match="zhipu has no model listing endpoint"):
        client.list_models("zhipu")
    assert len(emu.requests) == before


def test_a_cursor_that_repeats_is_an_error_not_a_hang(emu, client) -> None:
    page = {"data": [{"id": "a"}], "has_more": True, "first_id": "a", "last_id": "a"}
    for _ in range(2):
        emu.queue_json("anthropic", page)
    with pytest.raises(llmkit.APIError, match="kept paging"):
        client.list_models("anthropic")


def test_errors_are_typed(emu, client) -> None:
    emu.queue_error("mistral", 401, "Unauthorized")
    with pytest.raises(llmkit.AuthenticationError):
        client.list_models("mistral")


def test_async_twin(emu) -> None:
    async def run() -> list[str]:
        async with emu.async_client() as aclient:
            return [m.id for m in await aclient.list_models("qwen")]

    ids = asyncio.run(run())
    assert "qwen-plus" in ids and emu.last_request.path == "/qwen/compatible-mode/v1/models"


def test_cli_models_live(emu, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MISTRAL_API_KEY", "test-key")
    monkeypatch.setenv("MISTRAL_BASE_URL", emu.base_url("mistral"))
    emu.queue_json("mistral", [{"id": "mistral-small-latest", "object": "model"}, {"id": "my-ft", "object": "model"}])
    assert main(["models", "--live", "mistral", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(m["model"], m["in_catalog"]) for m in out] == [
        ("mistral/mistral-small-latest", True),
        ("mistral/my-ft", False),
    ]
    emu.queue_json("mistral", {"object": "list", "data": [{"id": "my-ft", "object": "model"}]})
    assert main(["models", "--live", "mistral"]) == 0
    table = capsys.readouterr().out
    assert "mistral/my-ft" in table and "CATALOG" in table
