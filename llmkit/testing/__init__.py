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

Deepgram's live WebSocket API has its own server, `deepgram_live_emulator()` (it needs the
`llmkit[live]` extra, so it is imported only when used).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._lifecycle import frozen_date
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = [
    "DeepgramLiveEmulator",
    "EmuRequest",
    "EmuResponse",
    "Emulator",
    "deepgram_live_emulator",
    "emulator",
    "frozen_date",
]

_LIVE = {"DeepgramLiveEmulator": "DeepgramLiveEmulator", "deepgram_live_emulator": "live_emulator"}


def __getattr__(name: str) -> Any:
    # The live server imports `websockets` (an optional extra): load it only when asked for.
    if name in _LIVE:
        from . import _deepgram_live_emu

        return getattr(_deepgram_live_emu, _LIVE[name])
    raise AttributeError(f"module 'llmkit.testing' has no attribute {name!r}")


@contextmanager
def emulator(**kwargs: Any) -> Iterator[Emulator]:
    """A running Emulator on 127.0.0.1 and a random port, stopped on exit."""
    emu = Emulator(**kwargs)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
