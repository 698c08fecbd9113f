"""Shared test helpers. The `llmkit_emulator` fixture comes from llmkit's pytest plugin."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

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
