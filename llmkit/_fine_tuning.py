"""`client.fine_tuning`: fine-tune a model in three calls, on top of the native operations.

`create(model, examples)` uploads the training data as JSONL (purpose `fine-tune`) and starts
the job; the handle it returns polls with `wait(timeout=...)`, which cancels the job when the
deadline passes (unless told not to), and `handle.model` is the `provider/ft:...` string to
chat with once it has succeeded. Everything else (listing, events, checkpoints, pause) is on
`client.native(provider)`, typed. Any provider whose spec declares `create_file` and the
fine-tuning job operations works; others raise UnsupportedFeatureError before any request.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._errors import ConfigError, TimeoutError, UnsupportedFeatureError
from ._registry import split_model

if TYPE_CHECKING:
    from ._client import AsyncClient, Client

__all__ = ["AsyncFineTuneJob", "AsyncFineTuning", "FineTuneJob", "FineTuning", "TrainingData"]

TrainingData = bytes | str | os.PathLike[str] | Sequence[Mapping[str, Any]]
Method = Literal["supervised", "dpo", "reinforcement"]
_NEEDS = ("create_file", "create_fine_tuning_job", "retrieve_fine_tuning_job", "cancel_fine_tuning_job")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def _jsonl(data: TrainingData, what: str) -> bytes:
    """Training data as JSONL bytes: a list of example dicts, a .jsonl path, or JSONL bytes."""
    if isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
    elif isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        if not os.path.isfile(path):
            raise ConfigError(f"{what} {path!r} is not a file; pass a .jsonl path, JSONL bytes or a list of examples")
        with open(path, "rb") as f:
            raw = f.read()
    else:
        examples = list(data)
        if not all(isinstance(e, Mapping) for e in examples):
            raise ConfigError(f"{what} must be a list of example dicts (e.g. {{'messages': [...]}})")
        raw = "".join(json.dumps(dict(e), ensure_ascii=False) + "\n" for e in examples).encode()
    lines = [line for line in raw.decode("utf-8", errors="replace").splitlines() if line.strip()]
    if not lines:
        raise ConfigError(f"{what} has no examples")
    for n, line in enumerate(lines, 1):
        try:
            ok = isinstance(json.loads(line), dict)
        except ValueError:
            ok = False
        if not ok:
            raise ConfigError(f"{what} line {n} is not a JSON object")
    return raw


def _plan(
    client: Any,
    model: str,
    method: Method,
    hyperparameters: Mapping[str, Any] | None,
    extra: Mapping[str, Any],
) -> tuple[str, Any, dict[str, Any]]:
    provider, base = split_model(model)
    native = client.native(provider)
    missing = [op for op in _NEEDS if not hasattr(native, op)]
    if missing:
        raise UnsupportedFeatureError(
            f"{provider} has no fine-tuning operations in its spec ({', '.join(missing)})", provider=provider
        )
    body: dict[str, Any] = {
        "model": base,
        "method": {"type": method, method: {"hyperparameters": dict(hyperparameters or {})}},
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return provider, native, body


class _JobBase:
    def __init__(self, provider: str, native: Any, job: Any) -> None:
        self.provider = provider
        self._native = native
        self.job = job  # the provider's typed job object, as last seen

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, id={self.id!r}, status={self.status!r})"

    @property
    def id(self) -> str:
        return str(self.job.id)

    @property
    def status(self) -> str:
        return str(self.job.status)

    @property
    def model(self) -> str | None:
        """`provider/<fine-tuned model id>` for chat, once the job has succeeded."""
        name = self.job.fine_tuned_model
        return f"{self.provider}/{name}" if name else None

    def _deadline(self, start: float, timeout: float | None) -> bool:
        return timeout is not None and time.monotonic() - start >= timeout

    def _timeout_error(self, timeout: float, cancelled: bool) -> TimeoutError:
        then = "it was cancelled" if cancelled else "it is still running"
        return TimeoutError(
            f"fine-tuning job {self.id} was {self.status} after {timeout:g}s; {then}",
            provider=self.provider,
            code="fine_tuning_timeout",
        )


class FineTuneJob(_JobBase):
    """A fine-tuning job: refresh it, wait for it, cancel it."""

    def refresh(self) -> FineTuneJob:
        self.job = self._native.retrieve_fine_tuning_job(self.id)
        return self

    def cancel(self) -> FineTuneJob:
        self.job = self._native.cancel_fine_tuning_job(self.id)
        return self

    def wait(
        self,
        *,
        timeout: float | None = None,
        poll_interval: float = 30.0,
        cancel_on_timeout: bool = True,
        progress: Callable[[Any], object] | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> FineTuneJob:
        """Poll until the job succeeds, fails or is cancelled; `progress(job)` after each poll.
        Past `timeout` seconds the job is cancelled (unless `cancel_on_timeout=False`) and
        llmkit.TimeoutError is raised."""
        start = time.monotonic()
        while self.refresh().status not in TERMINAL:
            if progress is not None:
                progress(self.job)
            if timeout is not None and self._deadline(start, timeout):
                if cancel_on_timeout:
                    self.cancel()
                raise self._timeout_error(timeout, cancel_on_timeout)
            sleep(poll_interval)
        if progress is not None:
            progress(self.job)
        return self


class AsyncFineTuneJob(_JobBase):
    """The async twin of FineTuneJob."""

    async def refresh(self) -> AsyncFineTuneJob:
        self.job = await self._native.retrieve_fine_tuning_job(self.id)
        return self

    async def cancel(self) -> AsyncFineTuneJob:
        self.job = await self._native.cancel_fine_tuning_job(self.id)
        return self

    async def wait(
        self,
        *,
        timeout: float | None = None,
        poll_interval: float = 30.0,
        cancel_on_timeout: bool = True,
        progress: Callable[[Any], object] | None = None,
        sleep: Callable[[float], Awaitable[object]] | None = None,
    ) -> AsyncFineTuneJob:
        import asyncio

        start = time.monotonic()
        while (await self.refresh()).status not in TERMINAL:
            if progress is not None:
                progress(self.job)
            if timeout is not None and self._deadline(start, timeout):
                if cancel_on_timeout:
                    await self.cancel()
                raise self._timeout_error(timeout, cancel_on_timeout)
            await (sleep or asyncio.sleep)(poll_interval)
        if progress is not None:
            progress(self.job)
        return self


class FineTuning:
    """`client.fine_tuning`: upload training data and start a job in one call."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        model: str,
        training_data: TrainingData,
        *,
        validation_data: TrainingData | None = None,
        method: Method = "supervised",
        hyperparameters: Mapping[str, Any] | None = None,
        suffix: str | None = None,
        seed: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> FineTuneJob:
        """Fine-tune `model` ("openai/gpt-4o-mini-2024-07-18") on `training_data` (example
        dicts, a .jsonl path or JSONL bytes). The data is checked before any upload."""
        train = _jsonl(training_data, "training_data")
        valid = _jsonl(validation_data, "validation_data") if validation_data is not None else None
        extra = {"suffix": suffix, "seed": seed, "metadata": dict(metadata) if metadata else None}
        provider, native, body = _plan(self._client, model, method, hyperparameters, extra)
        body["training_file"] = native.create_file(file=("training.jsonl", train), purpose="fine-tune").id
        if valid is not None:
            body["validation_file"] = native.create_file(file=("validation.jsonl", valid), purpose="fine-tune").id
        return FineTuneJob(provider, native, native.create_fine_tuning_job(body))

    def get(self, provider: str, job_id: str) -> FineTuneJob:
        """A handle on an existing job (e.g. started in another process)."""
        _, native, _ = _plan(self._client, f"{provider}/-", "supervised", None, {})
        return FineTuneJob(provider, native, native.retrieve_fine_tuning_job(job_id))


class AsyncFineTuning:
    """The async twin of FineTuning: `await aclient.fine_tuning.create(...)`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        model: str,
        training_data: TrainingData,
        *,
        validation_data: TrainingData | None = None,
        method: Method = "supervised",
        hyperparameters: Mapping[str, Any] | None = None,
        suffix: str | None = None,
        seed: int | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> AsyncFineTuneJob:
        train = _jsonl(training_data, "training_data")
        valid = _jsonl(validation_data, "validation_data") if validation_data is not None else None
        extra = {"suffix": suffix, "seed": seed, "metadata": dict(metadata) if metadata else None}
        provider, native, body = _plan(self._client, model, method, hyperparameters, extra)
        body["training_file"] = (await native.create_file(file=("training.jsonl", train), purpose="fine-tune")).id
        if valid is not None:
            uploaded = await native.create_file(file=("validation.jsonl", valid), purpose="fine-tune")
            body["validation_file"] = uploaded.id
        return AsyncFineTuneJob(provider, native, await native.create_fine_tuning_job(body))

    async def get(self, provider: str, job_id: str) -> AsyncFineTuneJob:
        _, native, _ = _plan(self._client, f"{provider}/-", "supervised", None, {})
        return AsyncFineTuneJob(provider, native, await native.retrieve_fine_tuning_job(job_id))
