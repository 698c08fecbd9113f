"""Emulated Bedrock control plane (`bedrock.{region}.amazonaws.com`) under `/bedrock-control`.

Its own host, as on AWS: `providers_config()` puts its URL in the bedrock provider's
`control_base_url` setting (`serves`), so a listing sent to the runtime host would land on the
runtime handler and fail there. ListFoundationModels and ListInferenceProfiles
(wire-facts-more.md §7), as strict as AWS where a client can get them wrong:

* auth exactly as the runtime emulator checks it: a Bedrock API key (`Bearer`; AWS allows API
  keys for Bedrock control-plane actions) or a SigV4 signature VERIFIED for service `bedrock`
  over the request as received (a `bedrock-runtime` scope is a 403 InvalidSignatureException);
* `GET /foundation-models` with the enum filters `byOutputModality`, `byInferenceType`,
  `byCustomizationType` (a bad value is AWS's 400 ValidationException) and `byProvider`;
  no paging;
* `GET /inference-profiles` with `maxResults` 1-1000, `nextToken` (only one the emulator
  issued) and `type` (SYSTEM_DEFINED, the default, or APPLICATION: the emulator has none of
  the latter). Pages hold at most 5 profiles, as AWS may return fewer than `maxResults`, so
  a client must follow `nextToken`.

The models are the catalog's bedrock entries: ids with a geography prefix (`us.`, `global.`)
are system inference profiles, the rest foundation models (on demand if the catalog names
them directly, else reachable only through a profile). Two illustrative models the catalog
lacks are added, one of them `LEGACY`, so a client's merge and lifecycle reading can be seen.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from ._bedrock_emu import BedrockHandler, _Reject
from ._server import Emulator, EmuRequest, EmuResponse

__all__ = ["HANDLER", "BedrockControlHandler", "foundation_models", "inference_profiles"]

_GEO = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")
_VENDORS = {"anthropic": "Anthropic", "amazon": "Amazon", "meta": "Meta", "cohere": "Cohere", "mistral": "Mistral AI"}
_ENUMS = {
    "byOutputModality": ("TEXT", "IMAGE", "EMBEDDING"),
    "byInferenceType": ("ON_DEMAND", "PROVISIONED"),
    "byCustomizationType": ("FINE_TUNING", "CONTINUED_PRE_TRAINING", "DISTILLATION"),
}
_PAGE = 5
_ACCOUNT = "123456789012"
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")
_EXTRA: list[dict[str, Any]] = [
    {
        "modelId": "amazon.titan-image-generator-v2:0",
        "modelName": "Titan Image Generator G1 v2",
        "providerName": "Amazon",
        "inputModalities": ["TEXT", "IMAGE"],
        "outputModalities": ["IMAGE"],
        "responseStreamingSupported": False,
        "customizationsSupported": ["FINE_TUNING"],
        "inferenceTypesSupported": ["ON_DEMAND", "PROVISIONED"],
        "modelLifecycle": {"status": "ACTIVE"},
    },
    {
        "modelId": "anthropic.claude-v2:1",
        "modelName": "Claude",
        "providerName": "Anthropic",
        "inputModalities": ["TEXT"],
        "outputModalities": ["TEXT"],
        "responseStreamingSupported": True,
        "customizationsSupported": [],
        "inferenceTypesSupported": ["ON_DEMAND"],
        "modelLifecycle": {
            "status": "LEGACY",
            "legacyTime": "2025-01-21T00:00:00Z",
            "endOfLifeTime": "2026-12-31T00:00:00Z",
        },
    },
]


def _vendor(model_id: str) -> str:
    prefix = model_id.split(".", 1)[0]
    return _VENDORS.get(prefix, prefix.title())


def foundation_models(region: str) -> list[dict[str, Any]]:
    """Every foundation-model summary the emulator lists in `region`."""
    from ..generated.catalog import MODELS

    out: dict[str, dict[str, Any]] = {}
    for m in MODELS:
        if m.provider != "bedrock":
            continue
        for name in (m.id, *m.aliases):
            if name.startswith(_GEO) or name in out:
                continue
            caps = m.capabilities
            inputs = ["TEXT", "IMAGE"] if caps.vision and caps.chat else ["TEXT"]
            outputs = ["EMBEDDING"] if caps.embeddings and not caps.chat else ["TEXT"]
            out[name] = {
                "modelId": name,
                "modelName": name.split(".", 1)[-1].rsplit(":", 1)[0],
                "providerName": _vendor(name),
                "inputModalities": inputs,
                "outputModalities": outputs,
                "responseStreamingSupported": bool(caps.chat),
                "customizationsSupported": [],
                "inferenceTypesSupported": ["ON_DEMAND"] if name == m.id else ["INFERENCE_PROFILE"],
                "modelLifecycle": {"status": "ACTIVE"},
            }
    for extra in _EXTRA:
        out.setdefault(extra["modelId"], dict(extra))
    return [
        {"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{mid}", **summary}
        for mid, summary in sorted(out.items())
    ]


def inference_profiles(region: str) -> list[dict[str, Any]]:
    """Every system-defined inference profile the emulator lists in `region`."""
    from ..generated.catalog import MODELS

    names = sorted({n for m in MODELS if m.provider == "bedrock" for n in (m.id, *m.aliases) if n.startswith(_GEO)})
    out = []
    for pid in names:
        geo, base = pid.split(".", 1)
        out.append(
            {
                "inferenceProfileName": f"{geo.upper()} {base}",
                "description": f"Routes requests for {base} across {geo} regions",
                "createdAt": "2025-01-01T00:00:00Z",
                "updatedAt": "2025-01-01T00:00:00Z",
                "inferenceProfileArn": f"arn:aws:bedrock:{region}:{_ACCOUNT}:inference-profile/{pid}",
                "models": [{"modelArn": f"arn:aws:bedrock:{region}::foundation-model/{base}"}],
                "inferenceProfileId": pid,
                "status": "ACTIVE",
                "type": "SYSTEM_DEFINED",
            }
        )
    return out


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"emu-profiles:{offset}".encode()).decode()


def _offset(token: str) -> int:
    try:
        kind, _, n = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if kind == "emu-profiles" and n.isdigit():
            return int(n)
    except ValueError:
        pass
    raise _Reject(400, "Invalid pagination token.", "ValidationException")


def _enum(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise _Reject(
            400,
            f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(allowed)}]",
            "ValidationException",
        )


class BedrockControlHandler:
    provider = "bedrock_control"
    prefix = "/bedrock-control"
    serves = ("bedrock", "control_base_url")

    def __init__(self) -> None:
        self._runtime = BedrockHandler()

    def error(self, status: int, message: str, kind: str = "") -> EmuResponse:
        return self._runtime.error(status, message, kind)

    def handle(self, req: EmuRequest, emu: Emulator) -> EmuResponse:
        try:
            self._runtime._auth(req, emu)
            scope = _SCOPE.search(req.headers.get("authorization", ""))
            region = scope.group(1) if scope else "us-east-1"
            if req.method == "GET" and req.subpath == "/foundation-models":
                return EmuResponse.json({"modelSummaries": self._models(req, region)})
            if req.method == "GET" and req.subpath == "/inference-profiles":
                return EmuResponse.json(self._profiles(req, region))
            raise _Reject(
                404,
                f"Unable to determine service/operation name to be authorized ({req.subpath})",
                "UnknownOperationException",
            )
        except _Reject as exc:
            return self.error(exc.status, exc.message, exc.kind)

    def _models(self, req: EmuRequest, region: str) -> list[dict[str, Any]]:
        models = foundation_models(region)
        for name, allowed in _ENUMS.items():
            value = req.query.get(name)
            if value is None:
                continue
            _enum(name, value, allowed)
            key = {
                "byOutputModality": "outputModalities",
                "byInferenceType": "inferenceTypesSupported",
                "byCustomizationType": "customizationsSupported",
            }[name]
            models = [m for m in models if value in m[key]]
        provider = req.query.get("byProvider")
        if provider is not None:
            models = [m for m in models if m["providerName"].lower() == provider.lower()]
        return models

    def _profiles(self, req: EmuRequest, region: str) -> dict[str, Any]:
        kind = req.query.get("type", "SYSTEM_DEFINED")
        _enum("type", kind, ("SYSTEM_DEFINED", "APPLICATION"))
        raw = req.query.get("maxResults", "1000")
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise _Reject(
                400,
                f"1 validation error detected: Value '{raw}' at 'maxResults' failed to satisfy constraint: "
                "Member must have value between 1 and 1000",
                "ValidationException",
            )
        profiles = inference_profiles(region) if kind == "SYSTEM_DEFINED" else []
        start = _offset(req.query["nextToken"]) if "nextToken" in req.query else 0
        end = start + min(int(raw), _PAGE)
        page: dict[str, Any] = {"inferenceProfileSummaries": profiles[start:end]}
        if end < len(profiles):
            page["nextToken"] = _token(end)
        return page


HANDLER = BedrockControlHandler()
