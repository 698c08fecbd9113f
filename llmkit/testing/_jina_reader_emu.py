"""Emulated Jina Reader (the `r.jina.ai` host) under `/jina-reader`.

It serves the Reader's own host, not `api.jina.ai`: `providers_config()` puts its URL in the
jina provider's `reader_base_url` setting (`serves`), so a request that went to the API root
instead would land on the other handler and fail there.

As strict as the Reader where a client can get it wrong (wire-facts-more.md §11, regional §12;
the error envelope `{"data": null, "code", "name", "status", "message", "readableMessage"}` is
recalled, not verified):

* `POST /` with a JSON object holding an absolute http(s) `url` (the GET form, the target
  prepended to the path, is answered too); anything else is a 422 ParamValidationError;
* the key is optional (anonymous reads are allowed, as on the real host), but one that is
  sent must be `Bearer <key>` and match the emulator's `require_key`: else 401;
* `X-Return-Format` must be markdown, html, text, screenshot or pageshot, and `X-Timeout`
  a whole number of seconds from 1 to 180: else 422;
* `Accept: application/json` answers the JSON envelope, anything else the default text form
  (`Title:`, `URL Source:`, `Markdown Content:`); the stream form is not emulated (406).

The page is deterministic from the target URL; a selector header or generated alt text shows
in the content, so a test can see the header was read.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

from ._brain import count_tokens
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "JinaReaderHandler", "reader_page"]

_FORMATS = ("markdown", "html", "text", "screenshot", "pageshot")
_NAMES = {
    401: "AuthenticationFailedError",
    404: "NotFoundError",
    406: "NotAcceptableError",
    422: "ParamValidationError",
}


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def reader_page(target: str, headers: dict[str, str]) -> dict[str, Any]:
    """The `data` object the emulator answers for `target`, shaped by the option headers."""
    host = urlsplit(target).hostname or target
    title = f"Emulated page at {host}"
    lines = [f"# {title}", "", f"This is what the emulator reads at {target}."]
    if headers.get("x-target-selector"):
        lines.append(f"Only the part matching {headers['x-target-selector']!r} was kept.")
    if headers.get("x-remove-selector"):
        lines.append(f"Parts matching {headers['x-remove-selector']!r} were removed.")
    if headers.get("x-with-generated-alt", "").lower() == "true":
        lines.append("![Image 1: an emulated caption](https://example.com/image.png)")
    fmt = headers.get("x-return-format", "markdown")
    data: dict[str, Any] = {"title": title, "description": f"An emulated page of {host}", "url": target}
    if fmt in ("screenshot", "pageshot"):
        data["content"] = ""
        data[f"{fmt}Url"] = f"https://emulator.invalid/{fmt}/{host}.png"
    elif fmt == "html":
        data["content"] = "<html><body>" + "".join(f"<p>{line}</p>" for line in lines if line) + "</body></html>"
    elif fmt == "text":
        data["content"] = "\n".join(line.lstrip("# ") for line in lines)
    else:
        data["content"] = "\n".join(lines)
    data["usage"] = {"tokens": max(1, count_tokens(data["content"] or target))}
    return data


class JinaReaderHandler:
    provider = "jina_reader"
    prefix = "/jina-reader"
    serves = ("jina", "reader_base_url")

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        name = kind or _NAMES.get(status, "ServiceError")
        body = {
            "data": None,
            "code": status,
            "name": name,
            "status": status * 100 + 3,
            "message": message,
            "readableMessage": f"{name}: {message}",
        }
        return EmuResponse.json(body, status)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        try:
            self._auth(req, emu)
            target = self._target(req)
            headers = req.headers
            fmt = headers.get("x-return-format")
            if fmt is not None and fmt not in _FORMATS:
                raise _Reject(422, f"X-Return-Format must be one of {', '.join(_FORMATS)}, got {fmt!r}")
            timeout = headers.get("x-timeout")
            if timeout is not None and not (timeout.isdigit() and 1 <= int(timeout) <= 180):
                raise _Reject(422, f"X-Timeout must be a whole number of seconds from 1 to 180, got {timeout!r}")
            data = reader_page(target, headers)
            accept = headers.get("accept", "text/plain")
            if "text/event-stream" in accept:
                raise _Reject(406, "the emulator does not serve the Reader's stream mode")
            if "application/json" in accept:
                tokens = data["usage"]["tokens"]
                return EmuResponse.json(
                    {"code": 200, "status": 20000, "data": data, "meta": {"usage": {"tokens": tokens}}}
                )
            text = f"Title: {data['title']}\n\nURL Source: {target}\n\nMarkdown Content:\n{data['content']}"
            return EmuResponse(status=200, headers={"content-type": "text/plain; charset=utf-8"}, body=text.encode())
        except _Reject as exc:
            return self.error(exc.status, exc.message)

    def _auth(self, req: EmuRequest, emu: Emulator) -> None:
        header = req.headers.get("authorization")
        if header is None:
            return  # Reader answers without a key (rate-limited per IP)
        key = header[7:] if header.startswith("Bearer ") else ""
        if not key or (emu.require_key is not None and key != emu.require_key):
            raise _Reject(401, "Invalid API key, please get a new one from https://jina.ai")

    def _target(self, req: EmuRequest) -> str:
        target: Any
        if req.method == "GET" and len(req.subpath) > 1:
            target = unquote(req.subpath[1:])
        elif req.method == "POST" and req.subpath in ("", "/"):
            try:
                body = json.loads(req.body) if req.body else None
            except ValueError:
                raise _Reject(422, "the request body is not valid JSON") from None
            if not isinstance(body, dict):
                raise _Reject(422, "the request body must be a JSON object with a `url`")
            target = body.get("url")
        else:
            raise _Reject(404, f"no Reader route for {req.method} {req.subpath or '/'}")
        if (
            not isinstance(target, str)
            or urlsplit(target).scheme not in ("http", "https")
            or not urlsplit(target).netloc
        ):
            raise _Reject(422, f"url must be an absolute http(s) URL, got {target!r}")
        return target


HANDLER = JinaReaderHandler()
