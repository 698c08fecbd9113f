"""`python -m llmkit.testing [--port N]`: run the emulator in the foreground.

Prints one line, the base URL, then serves until interrupted; other tools and languages can
point their provider base URLs at `<url>/openai/v1`, `<url>/anthropic`, `<url>/gemini/v1beta`.
"""

from __future__ import annotations

import argparse
import sys
import threading

from ._server import Emulator


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m llmkit.testing", description=__doc__)
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    args = ap.parse_args(argv)
    emu = Emulator(port=args.port).start()
    print(emu.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
