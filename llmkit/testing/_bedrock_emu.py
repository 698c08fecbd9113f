"""Emulated AWS Bedrock Runtime (Converse, ConverseStream, CountTokens, InvokeModel for
embedding models: _bedrock_invoke.py) under `/bedrock`.

As strict as Bedrock where a client can get it wrong:

* auth: `Authorization: Bearer <key>` (a Bedrock API key; it must equal the emulator's
  `require_key` when one is set), or an AWS SigV4 signature that is VERIFIED against the
  emulator's known test credentials (`TEST_ACCESS_KEY_ID` / `TEST_SECRET_ACCESS_KEY`, and
  `TEST_SESSION_TOKEN` for the temporary key `TEST_TEMP_ACCESS_KEY_ID`): signing service
  `bedrock`, the path as received encoded once more (`%3A` -> `%253A`), every signed header,
  the body's SHA-256. A mismatch is Bedrock's 403 InvalidSignatureException;
* the model id is a percent-encoded path label (`%3A` and a literal `:` are both accepted,
  as Bedrock does); ARNs of inference profiles resolve to the profile id;
* bodies are checked against the wire schema (unknown members are a ValidationException),
  unions must have exactly one member, roles must alternate starting with `user`, every
  toolResult must answer a toolUse of the turn before, and tool blocks need a toolConfig;
* CountTokens serves only models whose catalog entry has count_tokens (others: Bedrock's
  400 "doesn't support counting tokens") and takes exactly one of its two input forms;
* ConverseStream answers in binary application/vnd.amazon.eventstream frames (with the `p`
  padding field real Bedrock adds), text blocks without a contentBlockStart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import weakref
from typing import Any
from urllib.parse import quote, unquote

from .._eventstream import encode_message
from .._wire import WireValidationError, structure_strict
from ..generated.wire import bedrock_converse as wire
from ._bedrock_invoke import Reject, count_invoke_model, invoke, require_count_tokens
from ._brain import Conversation, Plan, chunks, count_tokens, plan
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = [
    "HANDLER",
    "TEST_ACCESS_KEY_ID",
    "TEST_SECRET_ACCESS_KEY",
    "TEST_SESSION_TOKEN",
    "TEST_TEMP_ACCESS_KEY_ID",
    "BedrockHandler",
    "event_frame",
    "exception_frame",
]

TEST_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
TEST_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TEST_TEMP_ACCESS_KEY_ID = "ASIAIOSFODNN7EXAMPLE"
TEST_SESSION_TOKEN = "llmkit-emulator-session-token"
_SECRETS = {TEST_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY, TEST_TEMP_ACCESS_KEY_ID: TEST_SECRET_ACCESS_KEY}
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
    r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$"
)
_ROUTE = re.compile(r"^/model/([^/]+)/(converse|converse-stream|count-tokens|invoke)$")
_PAD = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_CACHES: weakref.WeakKeyDictionary[Emulator, set[str]] = weakref.WeakKeyDictionary()
_STATUS_KIND = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


_Reject = Reject


def event_frame(event_type: str, payload: dict[str, Any]) -> bytes:
    """One ConverseStream event as Bedrock frames it."""
    headers = {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"}
    return encode_message(headers, json.dumps(payload).encode())


def exception_frame(kind: str, message: str) -> bytes:
    """An in-stream exception (`throttlingException`, `modelStreamErrorException`, ...)."""
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return encode_message(headers, json.dumps({"message": message}).encode())


def _models() -> set[str]:
    from ..generated.catalog import MODELS

    return {name for m in MODELS if m.provider == "bedrock" for name in (m.id, *m.aliases)}


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _verify_sigv4(req: EmuRequest, header: str) -> None:
    """Recompute the signature from the request exactly as received; raise _Reject if it differs."""
    m = _AUTH.match(header)
    if m is None:
        raise _Reject(
            403,
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'.",
            "IncompleteSignatureException",
        )
    akid, date, region, service, signed_names, signature = m.groups()
    secret = _SECRETS.get(akid)
    if secret is None:
        raise _Reject(403, "The security token included in the request is invalid.", "UnrecognizedClientException")
    if service != "bedrock":
        raise _Reject(
            403,
            f"Credential should be scoped to correct service: 'bedrock'. (got {service!r})",
            "InvalidSignatureException",
        )
    amz_date = req.headers.get("x-amz-date", "")
    if not amz_date.startswith(date):
        raise _Reject(
            403,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP",
            "InvalidSignatureException",
        )
    signed = signed_names.split(";")
    for needed in ("host", "x-amz-date"):
        if needed not in signed:
            raise _Reject(403, f"'{needed}' must be a signed header", "InvalidSignatureException")
    if akid == TEST_TEMP_ACCESS_KEY_ID and (
        req.headers.get("x-amz-security-token") != TEST_SESSION_TOKEN or "x-amz-security-token" not in signed
    ):
        raise _Reject(403, "The security token included in the request is invalid.", "UnrecognizedClientException")
    pairs = sorted(
        (quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
        for k, v in (p.partition("=")[::2] for p in _raw_query(req).split("&") if p)
    )
    canonical = "\n".join(
        [
            req.method,
            quote(req.path, safe="/~"),
            "&".join(f"{k}={v}" for k, v in pairs),
            "".join(f"{n}:{' '.join(req.headers.get(n, '').split())}\n" for n in signed),
            signed_names,
            hashlib.sha256(req.body).hexdigest(),
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = _hmac(_hmac(_hmac(_hmac(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    if not hmac.compare_digest(hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), signature):
        raise _Reject(
            403,
            "The request signature we calculated does not match the signature you provided. Check "
            "your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            "InvalidSignatureException",
        )


def _raw_query(req: EmuRequest) -> str:
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in req.query.items())


class BedrockHandler:
    provider = "bedrock"
    prefix = "/bedrock"

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        kind = kind or _STATUS_KIND.get(status, "InternalServerException")
        return EmuResponse.json(
            {"message": message},
            status,
            {
                "x-amzn-ErrorType": f"{kind}:http://internal.amazon.com/coral/com.amazon.bedrock/",
                "x-amzn-RequestId": "00000000-0000-4000-8000-emulator0000",
            },
        )

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        try:
            self._auth(req, emu)
            m = _ROUTE.match(req.subpath)
            if m is None or req.method != "POST":
                raise _Reject(
                    404,
                    f"Unable to determine service/operation name to be authorized ({req.subpath})",
                    "UnknownOperationException",
                )
            model = unquote(m.group(1))
            profile = model.rsplit("/", 1)[-1] if model.startswith("arn:") else model
            if profile not in _models():
                raise _Reject(400, "The provided model identifier is invalid.")
            data = _body(req)
            if m.group(2) == "invoke":
                return invoke(profile, data)
            if m.group(2) == "count-tokens":
                return _count(profile, data)
            body = _strict(data)
            _check(body, data)
            conv = _conversation(body, data)
            p = plan(conv)
            usage = _usage(emu, profile, data, p)
            if m.group(2) == "converse":
                return EmuResponse.json(_response(p, conv, usage))
            return EmuResponse(
                status=200,
                headers={"content-type": "application/vnd.amazon.eventstream", "x-amzn-RequestId": "emu-stream"},
                chunks=_stream(p, conv, usage),
            )
        except _Reject as exc:
            return self.error(exc.status, exc.message, exc.kind)

    def _auth(self, req: EmuRequest, emu: Emulator) -> None:
        header = req.headers.get("authorization", "")
        if header.startswith("Bearer "):
            if not header[7:] or (emu.require_key is not None and header[7:] != emu.require_key):
                raise _Reject(
                    403, "Invalid API Key format: Must start with pre-defined prefix", "AccessDeniedException"
                )
            return
        if header.startswith("AWS4-HMAC-SHA256 "):
            _verify_sigv4(req, header)
            return
        raise _Reject(403, "Missing Authentication Token", "MissingAuthenticationTokenException")


def _body(req: EmuRequest) -> dict[str, Any]:
    try:
        data = req.json()
    except ValueError:
        raise _Reject(400, "Could not parse request body into json") from None
    if not isinstance(data, dict):
        raise _Reject(400, "Could not parse request body into json")
    return data


def _count(model: str, data: dict[str, Any]) -> EmuResponse:
    """CountTokens: the Converse form (messages, system, toolConfig) or the InvokeModel form."""
    require_count_tokens(model)
    try:
        given = structure_strict(data, wire.CountTokensRequest).input
    except WireValidationError as exc:
        raise _Reject(
            400, f"Malformed input request: {exc.reason}, please reformat your input and try again."
        ) from None
    if (given.converse is None) == (given.invoke_model is None):
        raise _Reject(400, "input must set exactly one of converse and invokeModel")
    if given.invoke_model is not None:
        return EmuResponse.json({"inputTokens": count_invoke_model(given.invoke_model)})
    inner = given.converse
    assert inner is not None
    if not inner.messages:
        raise _Reject(
            400,
            "A conversation must start with a user message. Try again with a conversation that starts with a "
            "user message.",
        )
    counted = wire.ConverseRequest(messages=inner.messages, system=inner.system, tool_config=inner.tool_config)
    return EmuResponse.json({"inputTokens": plan(_conversation(counted, data["input"]["converse"])).input_tokens})


def _strict(data: dict[str, Any]) -> wire.ConverseRequest:
    if "modelId" in data or "model" in data:
        raise _Reject(400, "The model id belongs in the URI, not the body: extraneous key [modelId] is not permitted")
    try:
        return structure_strict(data, wire.ConverseRequest)
    except WireValidationError as exc:
        raise _Reject(
            400, f"Malformed input request: {exc.reason}, please reformat your input and try again."
        ) from None


def _one_member(items: list[Any], where: str) -> None:
    for i, raw in enumerate(items):
        if not isinstance(raw, dict) or len(raw) != 1:
            raise _Reject(400, f"{where}[{i}] must set exactly one member of the union")


def _check(body: wire.ConverseRequest, data: dict[str, Any]) -> None:
    msgs = data.get("messages") or []
    if not msgs:
        raise _Reject(
            400,
            "A conversation must start with a user message. Try again with a conversation that "
            "starts with a user message.",
        )
    _one_member(data.get("system") or [], "system")
    pending: set[str] = set()
    for i, m in enumerate(msgs):
        want = "user" if i % 2 == 0 else "assistant"
        if m.get("role") != want:
            raise _Reject(
                400,
                "A conversation must alternate between user and assistant roles. Make sure the "
                "conversation alternates between user and assistant roles and try again.",
            )
        _one_member(m.get("content") or [], f"messages[{i}].content")
        answered = {b["toolResult"]["toolUseId"] for b in m["content"] if "toolResult" in b}
        if answered - pending:
            raise _Reject(
                400,
                "The toolResult blocks at messages."
                f"{i}.content contain toolUseIds that do not match a toolUse block of the previous turn.",
            )
        pending = {b["toolUse"]["toolUseId"] for b in m["content"] if "toolUse" in b}
        for b in m["content"]:
            img = b.get("image") or b.get("document")
            src = img.get("source", {}) if isinstance(img, dict) else {}
            if "bytes" in src:
                try:
                    base64.b64decode(src["bytes"], validate=True)
                except ValueError:
                    raise _Reject(400, f"messages[{i}]: invalid base64 bytes in a media block") from None
    uses_tools = any("toolUse" in b or "toolResult" in b for m in msgs for b in m["content"])
    if uses_tools and body.tool_config is None:
        raise _Reject(400, "The toolConfig field must be defined when using toolUse and toolResult content blocks.")
    if body.tool_config is not None:
        _one_member(data["toolConfig"]["tools"], "toolConfig.tools")


def _texts(blocks: list[wire.ContentBlock]) -> list[str]:
    return [b.text for b in blocks if b.text]


def _conversation(body: wire.ConverseRequest, data: dict[str, Any]) -> Conversation:
    msgs = body.messages or []
    conv = Conversation()
    all_text = [s.text for s in body.system or [] if s.text]
    for m in msgs:
        all_text += _texts(m.content)
        conv.images += sum(1 for b in m.content if b.image is not None or b.document is not None)
    if msgs:
        last = msgs[-1]
        results = [b.tool_result for b in last.content if b.tool_result is not None]
        conv.last_is_tool_result = bool(results)
        conv.tool_result_text = " ".join(c.text or json.dumps(c.json) for r in results for c in r.content)
        conv.last_user_text = " ".join(_texts(last.content))
    conv.all_text = " ".join(all_text)
    if body.tool_config is not None:
        conv.tools = [
            {"name": t.tool_spec.name, "parameters": (t.tool_spec.input_schema.json or {})}
            for t in body.tool_config.tools
            if t.tool_spec is not None
        ]
        tc = body.tool_config.tool_choice
        if tc is not None:
            conv.tool_choice = tc.tool.name if tc.tool is not None else ("required" if tc.any is not None else "auto")
    out = body.output_config.text_format if body.output_config is not None else None
    if out is not None and out.structure.json_schema is not None:
        conv.json_schema = json.loads(out.structure.json_schema.schema)
    if body.inference_config is not None:
        conv.max_tokens = body.inference_config.max_tokens
    thinking = (body.additional_model_request_fields or {}).get("thinking")
    conv.reasoning = isinstance(thinking, dict) and thinking.get("type") == "enabled"
    return conv


def signature_for(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _usage(emu: Emulator, model: str, data: dict[str, Any], p: Plan) -> dict[str, int]:
    """A cachePoint writes the prefix before it once; the same prefix again is read."""
    read = write = 0
    prefix: list[Any] = []
    for part in [*(data.get("system") or []), *(b for m in data["messages"] for b in m["content"])]:
        if "cachePoint" in part:
            key = hashlib.sha256(f"{model}\0{json.dumps(prefix, sort_keys=True)}".encode()).hexdigest()
            seen = _CACHES.setdefault(emu, set())
            n = count_tokens(" ".join(x.get("text", "") for x in prefix))
            read, write = (n, 0) if key in seen else (0, n)
            seen.add(key)
        else:
            prefix.append(part)
    inp = max(p.input_tokens - read - write, 1)
    return {
        "inputTokens": inp,
        "outputTokens": p.output_tokens,
        "totalTokens": inp + read + write + p.output_tokens,
        "cacheReadInputTokens": read,
        "cacheWriteInputTokens": write,
    }


def _stop(p: Plan) -> str:
    return "tool_use" if p.tool_calls else ("max_tokens" if p.truncated else "end_turn")


def _response(p: Plan, conv: Conversation, usage: dict[str, int]) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if p.reasoning:
        content.append(
            {"reasoningContent": {"reasoningText": {"text": p.reasoning, "signature": signature_for(p.reasoning)}}}
        )
    if p.text:
        content.append({"text": p.text})
    for i, (name, args) in enumerate(p.tool_calls):
        content.append({"toolUse": {"toolUseId": f"tooluse_emu{i}", "name": name, "input": args}})
    return {
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": _stop(p),
        "usage": usage,
        "metrics": {"latencyMs": 7},
    }


def _padded(payload: dict[str, Any], n: int) -> dict[str, Any]:
    return {**payload, "p": _PAD[: 5 + n % 40]}


def _stream(p: Plan, conv: Conversation, usage: dict[str, int]) -> list[bytes]:
    events: list[tuple[str, dict[str, Any]]] = [("messageStart", {"role": "assistant"})]
    index = 0
    if p.reasoning:
        for piece in chunks(p.reasoning):
            events.append(
                ("contentBlockDelta", {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": piece}}})
            )
        events.append(
            (
                "contentBlockDelta",
                {"contentBlockIndex": index, "delta": {"reasoningContent": {"signature": signature_for(p.reasoning)}}},
            )
        )
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
        index += 1
    if p.text:
        for piece in chunks(p.text):
            events.append(("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}}))
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
        index += 1
    for i, (name, args) in enumerate(p.tool_calls):
        events.append(
            (
                "contentBlockStart",
                {"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": f"tooluse_emu{i}", "name": name}}},
            )
        )
        raw = json.dumps(args)
        for cut in range(0, len(raw), 12):
            events.append(
                (
                    "contentBlockDelta",
                    {"contentBlockIndex": index, "delta": {"toolUse": {"input": raw[cut : cut + 12]}}},
                )
            )
        events.append(("contentBlockStop", {"contentBlockIndex": index}))
        index += 1
    events.append(("messageStop", {"stopReason": _stop(p)}))
    events.append(("metadata", {"usage": usage, "metrics": {"latencyMs": 7}}))
    return [event_frame(kind, _padded(payload, n)) for n, (kind, payload) in enumerate(events)]


HANDLER = BedrockHandler()
