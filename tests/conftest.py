"""Shared test helpers. The `llmkit_emulator` fixture comes from llmkit's pytest plugin."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from llmkit.testing import frozen_date

# Model lifecycles are judged against today's date, so a suite run on the real calendar would
# change verdicts as shutdown dates pass. Every test sees this fixed day instead (a test that
# needs another wraps its own `frozen_date`); retirements already past on it stay retired.
SUITE_DAY = "2026-11-25"


@pytest.fixture(autouse=True)
def _fixed_lifecycle_day() -> Iterator[None]:
    with frozen_date(SUITE_DAY):
        yield


# Tests must never pick up a developer's real keys or endpoints.
for _name in list(os.environ):
    if _name.endswith(("_API_KEY", "_BASE_URL")) or _name in {"OPENAI_ORG_ID", "OPENAI_PROJECT_ID"}:
        del os.environ[_name]


@pytest.fixture
def emu(llmkit_emulator):  # type: ignore[no-untyped-def]
    """Shorter name for the running emulator."""
    return llmkit_emulator


@pytest.fixture
def client(emu) -> Iterator[object]:  # type: ignore[no-untyped-def]
    c = emu.client()
    yield c
    c.close()


def split_every(data: bytes, n: int) -> list[bytes]:
    """Cut bytes into n-byte pieces: splits land mid-line and mid-character."""
    return [data[i : i + n] for i in range(0, len(data), n)]
