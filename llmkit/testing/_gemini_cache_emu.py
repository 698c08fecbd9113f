"""The emulated Gemini API's explicit context caching: `cachedContents` and its use.

`POST /cachedContents` needs `model` (`models/<a served model>`), something to cache and at
most one of `ttl` ("<seconds>s") and `expireTime` (RFC 3339; default one hour); unknown
fields are rejected like every Gemini body, `displayName` is at most 128 characters. The
answer is the resource without its input-only fields: `name`, `model`, `displayName`,
`createTime`, `updateTime`, `expireTime`, `usageMetadata.totalTokenCount`. `GET` lists (paged
by `pageSize`/`pageToken`) or reads one; `PATCH` may change only `ttl` or `expireTime` (and an
`updateMask` may name only those); `DELETE` answers `{}`. An unknown, deleted or expired cache
is 403 PERMISSION_DENIED "CachedContent not found (or permission denied)" (recalled wording).

`generateContent` with `cachedContent` is answered as if the cached system instruction,
tools and contents came first; a request that also sets `systemInstruction`, `tools` or
`toolConfig`, or names another model, is a 400 as Gemini answers. Its usage reports the cached
tokens as `cachedContentTokenCount` (part of `promptTokenCount`) and `cacheTokensDetails`.
No minimum cache size is enforced: the reviewed facts do not give one. `expire(emu, name)`
ages a cache past its expiry for tests.
"""

from __future__ import annotations

import itertools
import re
import time
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .._wire import WireValidationError, structure_strict
from ..generated.wire import gemini as wire
from ._brain import count_tokens
from ._server import Emulator, EmuRequest, EmuResponse

if TYPE_CHECKING:
    from ._gemini_emu import GeminiHandler

__all__ = ["expire", "handle_cached_contents", "with_cache"]

_IDS = itertools.count(1)
_TTL = re.compile(r"^(\d{1,10})(\.\d{1,9})?s$")
_INPUT_ONLY = ("contents", "systemInstruction", "tools", "toolConfig", "ttl")
_MISSING = "CachedContent not found (or permission denied)"
_STATES: weakref.WeakKeyDictionary[Emulator, dict[str, dict[str, Any]]] = weakref.WeakKeyDictionary()


def _caches(emu: Emulator) -> dict[str, dict[str, Any]]:
    st = _STATES.get(emu)
    if st is None:
        st = _STATES[emu] = {}
    return st


def _stamp(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_time(value: str) -> float | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def expire(emu: Emulator, name: str) -> None:
    """Make the cache `name` (`cachedContents/...`) expired, as if its ttl had run out."""
    _caches(emu)[name]["_expires"] = time.time() - 1


def _live(emu: Emulator, name: str) -> dict[str, Any] | None:
    cache = _caches(emu).get(name)
    if cache is None or cache["_expires"] <= time.time():
        return None
    return cache


def _public(cache: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in cache.items() if not k.startswith("_") and k not in _INPUT_ONLY}
    out["expireTime"] = _stamp(cache["_expires"])
    return out


def _texts(content: dict[str, Any] | None) -> list[str]:
    return [p["text"] for p in (content or {}).get("parts") or [] if isinstance(p.get("text"), str)]


def _expiry(h: GeminiHandler, data: dict[str, Any], now: float) -> float | EmuResponse:
    ttl, at = data.get("ttl"), data.get("expireTime")
    if ttl is not None and at is not None:
        return h.error(400, "* CachedContent.expiration: only one of ttl and expire_time may be set")
    if ttl is not None:
        m = _TTL.match(ttl)
        if m is None:
            return h.error(
                400,
                f"Invalid value at 'cached_content.ttl' (type.googleapis.com/google.protobuf.Duration), "
                f"Field 'ttl', Illegal duration format; duration must end with 's': \"{ttl}\"",
            )
        return now + float(m.group(1) + (m.group(2) or ""))
    if at is not None:
        when = _parse_time(at)
        if when is None:
            return h.error(
                400,
                f"Invalid value at 'cached_content.expire_time' (type.googleapis.com/google.protobuf.Timestamp), "
                f"Field 'expireTime', Invalid time format: \"{at}\"",
            )
        return when
    return now + 3600.0


def _validated(h: GeminiHandler, data: dict[str, Any]) -> EmuResponse | None:
    try:
        structure_strict(data, wire.CachedContent)
    except WireValidationError as exc:
        m = re.search(r"unknown field '([^']+)'", exc.reason)
        if m:
            return h.error(400, f'Invalid JSON payload received. Unknown name "{m.group(1)}": Cannot find field.')
        return h.error(400, "Invalid JSON payload received. Invalid value.")
    return None


def _create(h: GeminiHandler, emu: Emulator, data: dict[str, Any], models: dict[str, Any]) -> EmuResponse:
    bad = _validated(h, data)
    if bad is not None:
        return bad
    model = data.get("model")
    if not isinstance(model, str) or not model:
        return h.error(400, "* CachedContent.model: model is required")
    if model.removeprefix("models/") not in models or not model.startswith("models/"):
        return h.error(
            404, f"{model} is not found for API version v1beta, or is not supported for createCachedContent."
        )
    if len(data.get("displayName") or "") > 128:
        return h.error(400, "* CachedContent.display_name: must be at most 128 characters")
    if not data.get("contents") and not data.get("systemInstruction"):
        return h.error(400, "* CachedContent: contents or system_instruction must be set")
    now = time.time()
    expires = _expiry(h, data, now)
    if isinstance(expires, EmuResponse):
        return expires
    if expires <= now:
        return h.error(400, "* CachedContent.expire_time: must be in the future")
    texts = _texts(data.get("systemInstruction"))
    for c in data.get("contents") or []:
        texts.extend(_texts(c))
    name = f"cachedContents/emu{next(_IDS):04d}cache"
    cache: dict[str, Any] = {
        "name": name,
        "model": model,
        "createTime": _stamp(now),
        "updateTime": _stamp(now),
        "usageMetadata": {"totalTokenCount": max(count_tokens(" ".join(texts)), 1)},
        "_expires": expires,
    }
    if data.get("displayName"):
        cache["displayName"] = data["displayName"]
    for k in _INPUT_ONLY:
        if k in data and k != "ttl":
            cache[k] = data[k]
    _caches(emu)[name] = cache
    return EmuResponse.json(_public(cache))


def _update(h: GeminiHandler, req: EmuRequest, cache: dict[str, Any], data: dict[str, Any]) -> EmuResponse:
    bad = _validated(h, data)
    if bad is not None:
        return bad
    mask = [f.strip() for f in req.query.get("updateMask", "").split(",") if f.strip()]
    allowed = {"ttl", "expireTime", "expire_time"}
    if any(f not in allowed for f in mask) or any(k not in ("ttl", "expireTime", "name") for k in data):
        return h.error(400, "* CachedContent: only the expiration (ttl or expire_time) can be updated")
    if "ttl" not in data and "expireTime" not in data:
        return h.error(400, "* CachedContent.expiration: ttl or expire_time must be set")
    now = time.time()
    expires = _expiry(h, data, now)
    if isinstance(expires, EmuResponse):
        return expires
    cache.update(_expires=expires, updateTime=_stamp(now))
    return EmuResponse.json(_public(cache))


def handle_cached_contents(req: EmuRequest, emu: Emulator, h: GeminiHandler, models: dict[str, Any]) -> EmuResponse:
    """Serve `/cachedContents` and `/cachedContents/{id}` (auth already checked)."""
    sub = req.subpath
    if sub == "/cachedContents":
        if req.method == "POST":
            data, bad = h._body(req)
            return bad if bad is not None else _create(h, emu, data, models)
        if req.method == "GET":
            live = [_public(c) for c in _caches(emu).values() if c["_expires"] > time.time()]
            size = int(req.query.get("pageSize", "100") or 100)
            start = int(req.query.get("pageToken", "0").removeprefix("emu-page-") or 0)
            page: dict[str, Any] = {"cachedContents": live[start : start + size]}
            if start + size < len(live):
                page["nextPageToken"] = f"emu-page-{start + size}"
            return EmuResponse.json(page if live[start : start + size] else {})
        return h.error(404, f"The requested URL {req.path} was not found on this server.")
    name = sub.lstrip("/")
    cache = _live(emu, name)
    if cache is None:
        return h.error(403, _MISSING)
    if req.method == "GET":
        return EmuResponse.json(_public(cache))
    if req.method == "DELETE":
        del _caches(emu)[name]
        return EmuResponse.json({})
    if req.method == "PATCH":
        data, bad = h._body(req)
        return bad if bad is not None else _update(h, req, cache, data)
    return h.error(404, f"The requested URL {req.path} was not found on this server.")


def with_cache(
    h: GeminiHandler, emu: Emulator, data: dict[str, Any], mid: str
) -> tuple[dict[str, Any], int] | EmuResponse:
    """A generateContent body with its cached content laid in front, and the cached token count."""
    if any(k in data for k in ("systemInstruction", "tools", "toolConfig")):
        return h.error(
            400,
            "CachedContent can not be used with GenerateContent request setting system_instruction, tools or "
            "tool_config.\n\nProposed fix: move those values to CachedContent from GenerateContent request.",
        )
    cache = _live(emu, data["cachedContent"])
    if cache is None:
        return h.error(403, _MISSING)
    if cache["model"] != f"models/{mid}":
        return h.error(
            400,
            f"Model used by GenerateContent request (models/{mid}) and CachedContent ({cache['model']}) "
            "has to be the same.",
        )
    merged = {k: v for k, v in data.items() if k != "cachedContent"}
    merged["contents"] = [*(cache.get("contents") or []), *data.get("contents", [])]
    for k in ("systemInstruction", "tools", "toolConfig"):
        if k in cache:
            merged[k] = cache[k]
    return merged, int(cache["usageMetadata"]["totalTokenCount"])
