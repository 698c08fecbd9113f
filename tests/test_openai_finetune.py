"""OpenAI fine-tuning on the wire: file upload (multipart), jobs (create, poll, events,
checkpoints, cancel, list), fine-tuned models in chat with their own prices, and the
emulator's strictness (unknown files, fields, models; wrong purposes; a file the method
cannot use)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

import llmkit
from llmkit._errors import BadRequestError, ConfigError, NotFoundError
from llmkit._registry import model_info
from llmkit.generated.wire import openai_chat as wire
from llmkit.testing import Emulator
from llmkit.testing._media_emu import parse_multipart

LINES = [
    {"messages": [{"role": "user", "content": f"Capital of {c}?"}, {"role": "assistant", "content": a}]}
    for c, a in (("France", "Paris"), ("Japan", "Tokyo"), ("Peru", "Lima"))
]
TRAIN = "".join(json.dumps(line) + "\n" for line in LINES).encode()
BASE = "gpt-4o-mini-2024-07-18"


def _upload(native: Any, data: bytes = TRAIN, purpose: str = "fine-tune") -> wire.FileObject:
    f: wire.FileObject = native.create_file(file=("capitals.jsonl", data, "application/jsonl"), purpose=purpose)
    return f


def _job(native: Any, **fields: Any) -> wire.FineTuningJob:
    training = _upload(native).id
    job: wire.FineTuningJob = native.create_fine_tuning_job(model=BASE, training_file=training, **fields)
    return job


def _finish(native: Any, job_id: str) -> wire.FineTuningJob:
    seen = []
    for _ in range(3):
        job = native.retrieve_fine_tuning_job(job_id)
        seen.append(job.status)
    assert seen == ["queued", "running", "succeeded"]
    return job


def test_upload_is_multipart_with_file_and_purpose(emu: Emulator, client: llmkit.Client) -> None:
    f = _upload(client.native("openai"))
    req = emu.last_request
    assert (req.method, req.path, req.headers["authorization"]) == ("POST", "/openai/v1/files", "Bearer test-key")
    form = parse_multipart(req.headers["content-type"], req.body)
    assert form.fields == {"purpose": ["fine-tune"]}
    assert form.files == {"file": ("capitals.jsonl", "application/jsonl", TRAIN)}
    assert isinstance(f, wire.FileObject)
    assert (f.object, f.purpose, f.filename, f.bytes, f.status) == (
        "file",
        "fine-tune",
        "capitals.jsonl",
        len(TRAIN),
        "processed",
    )


def test_create_poll_events_checkpoints_and_chat_with_the_fine_tuned_model(
    emu: Emulator, client: llmkit.Client
) -> None:
    native = client.native("openai")
    training = _upload(native).id
    job = native.create_fine_tuning_job(
        model=BASE,
        training_file=training,
        suffix="capitals",
        seed=7,
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
        metadata={"team": "geo"},
    )
    req = emu.last_request
    assert (req.method, req.path) == ("POST", "/openai/v1/fine_tuning/jobs")
    assert req.json() == {
        "model": BASE,
        "training_file": training,
        "suffix": "capitals",
        "seed": 7,
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2}}},
        "metadata": {"team": "geo"},
    }
    assert isinstance(job, wire.FineTuningJob)
    assert (job.status, job.fine_tuned_model, job.model, job.seed) == ("validating_files", None, BASE, 7)
    assert job.hyperparameters is not None and job.hyperparameters.n_epochs == 2
    assert job.hyperparameters.batch_size == "auto"

    done = _finish(native, job.id)
    assert emu.last_request.path == f"/openai/v1/fine_tuning/jobs/{job.id}"
    assert done.fine_tuned_model == f"ft:{BASE}:emu-org:capitals:{job.id[-8:]}"
    assert done.hyperparameters is not None and done.hyperparameters.batch_size == 1
    assert done.trained_tokens and done.finished_at and done.error is None

    events = native.list_fine_tuning_events(job.id, extra_query={"limit": "2"})
    assert emu.last_request.query == {"limit": "2"}
    assert [e.message for e in events.data] == [
        "The job has successfully completed",
        f"New fine-tuned model created: {done.fine_tuned_model}",
    ]
    assert events.has_more is True
    rest = native.list_fine_tuning_events(job.id, extra_query={"after": events.data[-1].id})
    assert rest.has_more is False and rest.data[-1].message == f"Validating training file: {training}"
    metrics = [e for e in rest.data if e.type == "metrics"]
    assert metrics and metrics[0].data is not None and "train_loss" in metrics[0].data

    ckpts = native.list_fine_tuning_job_checkpoints(job.id)
    assert [c.step_number for c in ckpts.data] == [6, 3]  # newest first: 3 examples x 2 epochs
    assert ckpts.data[1].fine_tuned_model_checkpoint == f"{done.fine_tuned_model}:ckpt-step-3"

    assert done.fine_tuned_model is not None
    resp = client.chat("openai/" + done.fine_tuned_model, messages=[{"role": "user", "content": "Capital of Chile?"}])
    assert emu.last_request.json()["model"] == done.fine_tuned_model
    assert resp.model == done.fine_tuned_model
    u = resp.usage
    expected = (u.input_tokens * 0.30 + u.output_tokens * 1.20) / 1_000_000  # fine-tuned gpt-4o-mini prices
    assert resp.cost_usd == pytest.approx(expected) and resp.cost_usd > 0

    listed = native.list_models()
    assert done.fine_tuned_model in [m.id for m in listed.data]
    assert native.retrieve_model(done.fine_tuned_model).owned_by == "emu-org"
    gone = native.delete_model(done.fine_tuned_model)
    assert emu.last_request.method == "DELETE" and (gone.id, gone.deleted) == (done.fine_tuned_model, True)
    with pytest.raises(NotFoundError):
        client.chat("openai/" + done.fine_tuned_model, messages=[{"role": "user", "content": "Hi"}])


def test_fine_tuned_ids_resolve_to_their_base_models_price() -> None:
    mini = model_info("openai", "ft:gpt-4o-mini:openai::7p4lURel")  # undated base, empty suffix
    assert mini is not None and mini.id == "ft:gpt-4o-mini:openai::7p4lURel"
    assert (mini.price.input, mini.price.output, mini.price.cached_input) == (0.30, 1.20, 0.15)
    assert mini.context_window == 128000 and mini.capabilities.tools
    big = model_info("openai", "ft:gpt-4.1-2025-04-14:my-org:support:abc123:ckpt-step-88")
    assert big is not None and (big.price.input, big.price.output) == (3.0, 12.0)
    o3 = model_info("openai", "ft:o3:my-org:x:abc")  # no fine-tuned price in the spec: the base's
    assert o3 is not None and (o3.price.input, o3.price.output) == (2.0, 8.0) and o3.capabilities.reasoning
    assert model_info("openai", "ft:davinci-002:my-org::abc") is None  # base not in the catalog
    assert model_info("groq", "ft:gpt-4o-mini:x::y") is None  # only where the spec has the prefix


def test_an_unknown_fine_tuned_model_is_the_emulators_404(emu: Emulator, client: llmkit.Client) -> None:
    with pytest.raises(NotFoundError) as exc:
        client.chat("openai/ft:gpt-4o-mini-2024-07-18:my-org:custom-suffix:abc123", messages="Hi")
    assert exc.value.status == 404 and "does not exist" in str(exc.value)
    assert emu.last_request.json()["model"] == "ft:gpt-4o-mini-2024-07-18:my-org:custom-suffix:abc123"


def test_unknown_training_file_is_a_400_in_openais_shape(emu: Emulator, client: llmkit.Client) -> None:
    with pytest.raises(BadRequestError) as exc:
        client.native("openai").create_fine_tuning_job(model=BASE, training_file="file-nope")
    assert exc.value.status == 400
    assert exc.value.body["error"] == {
        "message": "invalid training_file: file-nope",
        "type": "invalid_request_error",
        "param": "training_file",
        "code": "invalid_file_id",
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"model": "gpt-5", "training_file": "@"}, "not available for fine-tuning"),
        (
            {"model": BASE, "training_file": "@", "learning_rate": 2},
            "Unrecognized request argument supplied: learning_rate",
        ),
        ({"model": BASE, "training_file": "@", "suffix": "x" * 65}, "between 1 and 64"),
        ({"model": BASE, "training_file": "@", "method": {"type": "distill"}}, "method.type"),
        (
            {"model": BASE, "training_file": "@", "method": {"type": "reinforcement"}},
            "does not support the reinforcement",
        ),
    ],
)
def test_create_is_strict(emu: Emulator, client: llmkit.Client, fields: dict[str, Any], message: str) -> None:
    native = client.native("openai")
    fid = _upload(native).id
    body = {k: (fid if v == "@" else v) for k, v in fields.items()}
    with pytest.raises(BadRequestError, match=message):
        native.create_fine_tuning_job(body)


def test_upload_purpose_and_content_are_checked(emu: Emulator, client: llmkit.Client) -> None:
    native = client.native("openai")
    with pytest.raises(BadRequestError, match="line 1 is not JSON"):
        _upload(native, b"not json\n")
    with pytest.raises(BadRequestError, match="Invalid value for 'purpose'"):
        _upload(native, purpose="finetune")
    batch_file = _upload(native, purpose="assistants").id
    with pytest.raises(BadRequestError, match="fine-tuning needs purpose 'fine-tune'"):
        native.create_fine_tuning_job(model=BASE, training_file=batch_file)


def test_a_file_the_method_cannot_use_fails_the_job(emu: Emulator, client: llmkit.Client) -> None:
    native = client.native("openai")
    job = _job(native, method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1}}})
    failed = native.retrieve_fine_tuning_job(job.id)
    assert failed.status == "failed" and failed.fine_tuned_model is None
    assert failed.error is not None and failed.error.code == "invalid_training_file"
    assert failed.error.param == "training_file" and "'input'" in failed.error.message


def test_cancel_list_and_files(emu: Emulator, client: llmkit.Client) -> None:
    native = client.native("openai")
    first, second = _job(native, metadata={"team": "geo"}), _job(native)
    cancelled = native.cancel_fine_tuning_job(first.id)
    assert (emu.last_request.method, emu.last_request.path) == (
        "POST",
        f"/openai/v1/fine_tuning/jobs/{first.id}/cancel",
    )
    assert cancelled.status == "cancelled"  # two l's
    with pytest.raises(BadRequestError, match="cannot be cancelled"):
        native.cancel_fine_tuning_job(first.id)
    page = native.list_paginated_fine_tuning_jobs(extra_query={"limit": "1"})
    assert emu.last_request.query == {"limit": "1"}
    assert [j.id for j in page.data] == [second.id] and page.has_more
    page2 = native.list_paginated_fine_tuning_jobs(extra_query={"after": second.id, "limit": "1"})
    assert [j.id for j in page2.data] == [first.id]
    geo = native.list_paginated_fine_tuning_jobs(extra_query={"metadata[team]": "geo"})
    assert emu.last_request.query == {"metadata[team]": "geo"} and [j.id for j in geo.data] == [first.id]
    with pytest.raises(NotFoundError):
        native.retrieve_fine_tuning_job("ftjob-missing")

    files = native.list_files(extra_query={"purpose": "fine-tune"})
    assert {f.id for f in files.data} == {first.training_file, second.training_file}
    assert native.retrieve_file(first.training_file).purpose == "fine-tune"
    deleted = native.delete_file(first.training_file)
    assert (deleted.id, deleted.deleted, emu.last_request.method) == (first.training_file, True, "DELETE")
    with pytest.raises(NotFoundError):
        native.retrieve_file(first.training_file)


def test_missing_body_is_a_config_error_before_any_request(emu: Emulator, client: llmkit.Client) -> None:
    with pytest.raises(ConfigError, match="needs a request body"):
        client.native("openai").create_fine_tuning_job()
    assert emu.requests == []


def test_async_upload_create_and_poll(emu: Emulator) -> None:
    async def run() -> wire.FineTuningJob:
        async with emu.async_client() as ac:
            native = ac.native("openai")
            f = await native.create_file(file=("t.jsonl", TRAIN), purpose="fine-tune")
            job = await native.create_fine_tuning_job(model="gpt-4.1-mini-2025-04-14", training_file=f.id)
            for _ in range(3):
                job = await native.retrieve_fine_tuning_job(job.id)
            return job

    job = asyncio.run(run())
    assert job.status == "succeeded" and job.fine_tuned_model == f"ft:gpt-4.1-mini-2025-04-14:emu-org::{job.id[-8:]}"


# -- client.fine_tuning: the small convenience over the native operations --------------------


def test_fine_tuning_create_wait_and_chat(emu: Emulator, client: llmkit.Client) -> None:
    seen: list[str] = []
    job = client.fine_tuning.create(
        "openai/" + BASE, LINES, suffix="geo", hyperparameters={"n_epochs": 1}, metadata={"run": "7"}
    )
    upload, create = emu.requests
    assert (upload.method, upload.path) == ("POST", "/openai/v1/files")
    form = parse_multipart(upload.headers["content-type"], upload.body)
    assert form.fields == {"purpose": ["fine-tune"]} and form.files["file"][2] == TRAIN
    assert create.json() == {
        "model": BASE,
        "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 1}}},
        "suffix": "geo",
        "metadata": {"run": "7"},
        "training_file": job.job.training_file,
    }
    (uploaded,) = client.native("openai").list_files().data
    assert uploaded.id == job.job.training_file and uploaded.purpose == "fine-tune"
    assert job.status == "validating_files" and job.model is None and job.provider == "openai"
    done = job.wait(poll_interval=0, progress=lambda j: seen.append(j.status))
    assert seen == ["queued", "running", "succeeded"] and done is job
    assert job.model == f"openai/ft:{BASE}:emu-org:geo:{job.id[-8:]}"
    assert client.chat(job.model, messages="Capital of Chile?").cost_usd is not None
    again = client.fine_tuning.get("openai", job.id)
    assert again.status == "succeeded" and again.model == job.model


def test_fine_tuning_wait_cancels_at_the_deadline(emu: Emulator, client: llmkit.Client) -> None:
    job = client.fine_tuning.create("openai/" + BASE, TRAIN)
    before = len(emu.requests)
    with pytest.raises(llmkit.TimeoutError, match="it was cancelled") as exc:
        job.wait(timeout=0, poll_interval=0)
    assert exc.value.code == "fine_tuning_timeout" and job.status == "cancelled"
    assert [(r.method, r.path) for r in emu.requests[before:]] == [
        ("GET", f"/openai/v1/fine_tuning/jobs/{job.id}"),
        ("POST", f"/openai/v1/fine_tuning/jobs/{job.id}/cancel"),
    ]
    other = client.fine_tuning.create("openai/" + BASE, TRAIN)
    with pytest.raises(llmkit.TimeoutError, match="still running"):
        other.wait(timeout=0, poll_interval=0, cancel_on_timeout=False)
    assert other.status == "queued" and emu.last_request.method == "GET"


def test_fine_tuning_refuses_bad_data_and_providers_before_any_request(emu: Emulator, client: llmkit.Client) -> None:
    with pytest.raises(ConfigError, match="line 2 is not a JSON object"):
        client.fine_tuning.create("openai/" + BASE, b'{"messages": []}\n[1, 2]\n')
    with pytest.raises(ConfigError, match="has no examples"):
        client.fine_tuning.create("openai/" + BASE, [])
    with pytest.raises(ConfigError, match="is not a file"):
        client.fine_tuning.create("openai/" + BASE, "missing.jsonl")
    with pytest.raises(llmkit.UnsupportedFeatureError, match="no fine-tuning operations"):
        client.fine_tuning.create("groq/meta-llama/llama-4-scout-17b-16e-instruct", LINES)
    assert emu.requests == []


def test_async_fine_tuning(emu: Emulator) -> None:
    async def run() -> str | None:
        async with emu.async_client() as ac:
            job = await ac.fine_tuning.create("openai/gpt-4.1-mini-2025-04-14", LINES, validation_data=LINES[:1])
            assert emu.last_request.json()["validation_file"].startswith("file-")
            await job.wait(poll_interval=0)
            return job.model

    model = asyncio.run(run())
    assert model is not None and model.startswith("openai/ft:gpt-4.1-mini-2025-04-14:emu-org::")


def test_codegen_diff_reports_fine_tuned_price_changes(tmp_path: Any, capsys: Any) -> None:
    import shutil
    from pathlib import Path

    import yaml

    from codegen.__main__ import main

    root = Path(__file__).resolve().parent.parent
    old, new = tmp_path / "old", tmp_path / "new"
    shutil.copytree(root / "specs" / "providers", old)
    shutil.copytree(old, new)
    spec = yaml.safe_load((new / "openai.yaml").read_text(encoding="utf-8"))
    mini = next(m for m in spec["models"] if m["id"] == "gpt-4o-mini")
    mini["fine_tuned_price"]["output"] = 0.6
    (new / "openai.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert main(["diff", str(old), str(new), "--markdown"]) == 0
    assert "- `gpt-4o-mini`: fine-tuned output price 1.2 -> 0.6 (-50%)" in capsys.readouterr().out
