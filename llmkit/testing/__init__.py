"""llmkit.testing: a local, strict emulator of provider wire protocols for your tests.

    from llmkit.testing import emulator

    with emulator() as emu:
        client = emu.client()
        resp = client.chat("openai/gpt-4o-mini", [{"role": "user", "content": "Hi"}])
        assert emu.last_request.json()["model"] == "gpt-4o-mini"

In pytest, the `llmkit_emulator` fixture gives a running Emulator. The emulator answers
deterministically, rejects what the real provider rejects (missing key, unknown fields,
unknown models), and can be scripted with `queue_json`, `queue_stream` and `queue_error`.
`frozen_date("2026-07-01")` fixes the day model lifecycle checks compare against.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._lifecycle import frozen_date
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["EmuRequest", "EmuResponse", "Emulator", "emulator", "frozen_date"]


@contextmanager
def emulator(**kwargs: Any) -> Iterator[Emulator]:
    """A running Emulator on 127.0.0.1 and a random port, stopped on exit."""
    emu = Emulator(**kwargs)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
