"""client.batches against the strict emulator: exact wire, input-order results, per-item errors,
cancel, refusal before any request, and the `llmkit batch` command."""

from __future__ import annotations

import json

import pytest

import llmkit
from llmkit._batches import BatchItemError
from llmkit.cli import main
from llmkit.testing._media_emu import parse_multipart

USER = [{"role": "user", "content": "one"}]


def test_openai_submit_uploads_jsonl_and_creates_the_batch(emu) -> None:
    client = emu.client()
    handle = client.batches.submit(
        "openai/gpt-4o-mini",
        [USER, {"messages": [{"role": "user", "content": "two"}], "temperature": 0.5}],
        max_tokens=5,
    )
    upload, create = emu.requests
    assert (upload.method, upload.path) == ("POST", "/openai/v1/files")
    assert upload.headers["authorization"] == f"Bearer {emu.api_key}"
    form = parse_multipart(upload.headers["content-type"], upload.body)
    assert form.fields == {"purpose": ["batch"]}
    expected = (
        b'{"custom_id":"llmkit-0","method":"POST","url":"/v1/chat/completions","body":'
        b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"one"}],"max_completion_tokens":5}}\n'
        b'{"custom_id":"llmkit-1","method":"POST","url":"/v1/chat/completions","body":'
        b'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"two"}],"max_completion_tokens":5,'
        b'"temperature":0.5}}\n'
    )
    assert form.files == {"file": ("batch.jsonl", "application/jsonl", expected)}
    # Each line's body is exactly what client.chat sends for the same item.
    client.chat("openai/gpt-4o-mini", USER, max_tokens=5)
    assert json.loads(expected.splitlines()[0])["body"] == emu.requests[-1].json()

    assert (create.method, create.path) == ("POST", "/openai/v1/batches")
    body = create.json()
    assert set(body) == {"input_file_id", "endpoint", "completion_window"}
    assert body["endpoint"] == "/v1/chat/completions"
    assert body["completion_window"] == "24h"
    assert body["input_file_id"].startswith("file-emu")
    assert handle.status().raw["input_file_id"] == body["input_file_id"]
    assert handle.id.startswith("batch_emu")
    assert handle.provider == "openai"
    assert len(handle) == 2


def test_openai_wait_polls_and_results_come_in_input_order(emu) -> None:
    emu.batch_polls = 3
    client = emu.client()
    items = [[{"role": "user", "content": f"item {i}"}] for i in range(4)]
    handle = client.batches.submit("openai/gpt-4o-mini", items)
    seen: list[tuple[int, int]] = []
    slept: list[float] = []
    st = handle.wait(poll_interval=7.0, progress=lambda d, t: seen.append((d, t)), sleep=slept.append)
    assert seen == [(0, 4), (0, 4), (4, 4)]
    assert slept == [7.0, 7.0]
    assert (st.state, st.total, st.done, st.succeeded, st.failed) == ("completed", 4, 4, 4, 0)
    polls = [r for r in emu.requests if r.method == "GET" and r.path.startswith("/openai/v1/batches/")]
    assert [r.path for r in polls] == [f"/openai/v1/batches/{handle.id}"] * 3
    start = len(emu.requests)
    results = handle.results()
    assert [r.text for r in results if isinstance(r, llmkit.ChatResponse)] == [f"You said: item {i}" for i in range(4)]
    assert all(r.provider == "openai" and r.model == "gpt-4o-mini" for r in results)  # type: ignore[union-attr]
    assert all(r.cost_usd is not None for r in results)  # type: ignore[union-attr]
    fetched = emu.requests[start:]
    assert len(fetched) == 1  # the output file only: there is no error file
    assert fetched[0].method == "GET"
    assert fetched[0].path == f"/openai/v1/files/{st.raw['output_file_id']}/content"


def test_openai_per_item_errors_are_typed_and_in_place(emu) -> None:
    client = emu.client()
    items = [USER, {"messages": USER, "extra_body": {"bogus": 1}}, [{"role": "user", "content": "three"}]]
    handle = client.batches.submit("openai/gpt-4o-mini", items)
    st = handle.wait(poll_interval=0)
    assert (st.succeeded, st.failed) == (2, 1)
    first, second, third = handle.results()
    assert isinstance(first, llmkit.ChatResponse) and first.text == "You said: one"
    assert isinstance(second, llmkit.BadRequestError)
    assert second.status == 400
    assert str(second).endswith("Unrecognized request argument supplied: bogus")
    assert isinstance(third, llmkit.ChatResponse) and third.text == "You said: three"
    paths = [r.path for r in emu.requests if "/content" in r.path]
    assert paths == [
        f"/openai/v1/files/{st.raw['output_file_id']}/content",
        f"/openai/v1/files/{st.raw['error_file_id']}/content",
    ]


def test_openai_cancel(emu) -> None:
    emu.batch_polls = 5
    client = emu.client()
    handle = client.batches.submit("openai/gpt-4o-mini", [USER, USER])
    assert handle.status().state == "in_progress"
    st = handle.cancel()
    assert st.state == "canceling"
    cancel = emu.requests[-1]
    assert (cancel.method, cancel.path, cancel.body) == ("POST", f"/openai/v1/batches/{handle.id}/cancel", b"")
    assert handle.wait(poll_interval=0).state == "canceled"
    results = handle.results()
    assert [type(r) for r in results] == [BatchItemError, BatchItemError]
    assert [r.reason for r in results] == ["canceled", "canceled"]  # type: ignore[union-attr]


def test_anthropic_submit_poll_results(emu) -> None:
    client = emu.client()
    handle = client.batches.submit(
        "anthropic/claude-haiku-4-5",
        [
            USER,
            {"messages": [{"role": "user", "content": "two"}], "max_tokens": 10**7},
            [{"role": "user", "content": "3"}],
        ],
        max_tokens=5,
    )
    (create,) = emu.requests
    assert (create.method, create.path) == ("POST", "/anthropic/v1/messages/batches")
    assert create.headers["x-api-key"] == emu.api_key
    assert create.headers["anthropic-version"]
    assert create.json() == {
        "requests": [
            {"custom_id": "llmkit-0", "params": {"model": "claude-haiku-4-5", "max_tokens": 5, "messages": USER}},
            {
                "custom_id": "llmkit-1",
                "params": {
                    "model": "claude-haiku-4-5",
                    "max_tokens": 10**7,
                    "messages": [{"role": "user", "content": "two"}],
                },
            },
            {
                "custom_id": "llmkit-2",
                "params": {
                    "model": "claude-haiku-4-5",
                    "max_tokens": 5,
                    "messages": [{"role": "user", "content": "3"}],
                },
            },
        ]
    }
    assert handle.id.startswith("msgbatch_emu")
    st = handle.wait(poll_interval=0)
    assert emu.requests[-1].method == "GET"
    assert emu.requests[-1].path == f"/anthropic/v1/messages/batches/{handle.id}"
    assert (st.state, st.total, st.done, st.succeeded, st.failed) == ("completed", 3, 3, 2, 1)
    first, second, third = handle.results()
    assert emu.requests[-1].path == f"/anthropic/v1/messages/batches/{handle.id}/results"
    assert isinstance(first, llmkit.ChatResponse) and first.text == "You said: one"
    assert first.model == "claude-haiku-4-5-20251001"
    assert isinstance(second, llmkit.BadRequestError)
    assert second.status == 400
    assert "max_tokens: 10000000 > 64000" in str(second)
    assert isinstance(third, llmkit.ChatResponse) and third.text == "You said: 3"


def test_anthropic_cancel_and_progress(emu) -> None:
    emu.batch_polls = 10
    client = emu.client()
    handle = client.batches.submit("anthropic/claude-haiku-4-5", [USER], max_tokens=5)
    assert handle.status().state == "in_progress"
    assert handle.cancel().state == "canceling"
    cancel = emu.requests[-1]
    assert (cancel.method, cancel.path) == ("POST", f"/anthropic/v1/messages/batches/{handle.id}/cancel")
    seen: list[tuple[int, int]] = []
    st = handle.wait(poll_interval=0, progress=lambda d, t: seen.append((d, t)))
    assert st.state == "canceled"
    assert seen == [(1, 1)]
    (only,) = handle.results()
    assert isinstance(only, BatchItemError)
    assert (only.reason, only.custom_id) == ("canceled", "llmkit-0")


def test_wait_timeout_raises_without_sleeping_past_it(emu) -> None:
    emu.batch_polls = 100
    client = emu.client()
    handle = client.batches.submit("anthropic/claude-haiku-4-5", [USER], max_tokens=5)
    with pytest.raises(llmkit.TimeoutError):
        handle.wait(poll_interval=5.0, timeout=1.0, sleep=lambda s: pytest.fail("slept"))
    with pytest.raises(llmkit.LLMKitError, match="has not finished"):
        handle.results()


def test_provider_without_batches_is_refused_before_any_request(emu) -> None:
    client = emu.client()
    with pytest.raises(llmkit.UnsupportedFeatureError, match="groq does not support batches"):
        client.batches.submit("groq/meta-llama/llama-4-scout-17b-16e-instruct", [USER])
    assert emu.requests == []


def test_bad_item_is_refused_before_any_request(emu) -> None:
    client = emu.client()
    with pytest.raises(llmkit.LLMKitError):
        client.batches.submit("openai/gpt-4o-mini", [USER, [{"role": "wizard", "content": "x"}]])
    with pytest.raises(llmkit.UnsupportedFeatureError):
        client.batches.submit("openai/gpt-4o-mini", [USER], stream=True)
    assert emu.requests == []


@pytest.fixture
def env(emu, monkeypatch):  # type: ignore[no-untyped-def]
    for pid, prefix in (("openai", "OPENAI"), ("anthropic", "ANTHROPIC")):
        monkeypatch.setenv(f"{prefix}_API_KEY", "cli-key")
        monkeypatch.setenv(f"{prefix}_BASE_URL", emu.base_url(pid))
    return emu


def test_cli_batch_prints_results_in_input_order(env, capsys, tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"messages":[{"role":"user","content":"one"}]}\n"two"\n\nthree\n', encoding="utf-8")
    code = main(["batch", "anthropic/claude-haiku-4-5", str(src), "--poll-interval", "0", "-m", "20"])
    out, err = capsys.readouterr()
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["index"], r["ok"], r["response"]["text"]) for r in rows] == [
        (0, True, "You said: one"),
        (1, True, "You said: two"),
        (2, True, "You said: three"),
    ]
    create = next(r for r in env.requests if r.method == "POST")
    assert [r["params"]["messages"][0]["content"] for r in create.json()["requests"]] == ["one", "two", "three"]
    batch_id = env.requests[-1].path.split("/")[-2]
    assert env.requests[-1].path == f"/anthropic/v1/messages/batches/{batch_id}/results"
    assert err.splitlines() == [
        f"llmkit: submitted batch {batch_id} (3 requests) to anthropic",
        f"llmkit: batch {batch_id}: 3/3 done",
        f"llmkit: batch {batch_id} completed",
    ]


def test_cli_batch_item_error_sets_exit_code(env, capsys, tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('"fine"\n{"messages":[{"role":"user","content":"x"}],"max_tokens":99999999}\n', encoding="utf-8")
    code = main(["batch", "anthropic/claude-haiku-4-5", str(src), "--poll-interval", "0"])
    out, _ = capsys.readouterr()
    assert code == 1
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["ok"] is True
    assert rows[1]["ok"] is False
    assert rows[1]["error"]["type"] == "BadRequestError"
    assert rows[1]["error"]["status"] == 400


def test_cli_batch_bad_input_is_usage_error(env, capsys, tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"messages": oops}\n', encoding="utf-8")
    assert main(["batch", "openai/gpt-4o-mini", str(src)]) == 2
    assert "line 1 is not valid JSON" in capsys.readouterr().err
    assert env.requests == []


def test_cli_batch_unsupported_provider(env, capsys, tmp_path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('"hi"\n', encoding="utf-8")
    assert main(["batch", "groq/meta-llama/llama-4-scout-17b-16e-instruct", str(src)]) == 11


def test_async_client_batches_twin(emu) -> None:
    import asyncio

    emu.batch_polls = 2

    async def run() -> tuple[list[str], list[str], str]:
        async with llmkit.AsyncClient(providers=emu.providers_config()) as client:
            handle = await client.batches.submit("openai/gpt-4o-mini", [USER, [{"role": "user", "content": "two"}]])
            slept: list[float] = []

            async def sleep(s: float) -> None:
                slept.append(s)

            st = await handle.wait(poll_interval=3.0, sleep=sleep)
            results = await handle.results()
            texts = [r.text for r in results if isinstance(r, llmkit.ChatResponse)]
            return texts, [str(s) for s in slept], st.state

    texts, slept, state = asyncio.run(run())
    assert (texts, slept, state) == (["You said: one", "You said: two"], ["3.0"], "completed")
    assert [(r.method, r.path.split("/")[3]) for r in emu.requests] == [
        ("POST", "files"),
        ("POST", "batches"),
        ("GET", "batches"),
        ("GET", "batches"),
        ("GET", "files"),
    ]
