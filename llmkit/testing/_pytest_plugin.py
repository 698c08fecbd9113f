"""pytest plugin (registered by llmkit's entry point): the `llmkit_emulator` fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._server import Emulator


@pytest.fixture
def llmkit_emulator() -> Iterator[Emulator]:
    """A running llmkit emulator; `llmkit_emulator.client()` is a Client wired to it."""
    emu = Emulator()
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
