"""AWS Bedrock credentials: a Bedrock API key (Bearer), or AWS Signature Version 4.

Named by specs/providers/bedrock.yaml (`overrides: {auth: bedrock}`); the transport builds it
once per Client with `auth(settings)`. Why this is code and not spec data:

* either/or: an API key (`api_key`, env AWS_BEARER_TOKEN_BEDROCK) wins and is sent as
  `Authorization: Bearer ...`, as botocore and the Anthropic SDK do; otherwise every request
  is signed with SigV4 from `aws_access_key_id` / `aws_secret_access_key` (and
  `aws_session_token` for temporary credentials, sent as `X-Amz-Security-Token`);
* a signature covers the exact bytes sent: method, path, query, the signed headers and a
  SHA-256 of the body, so it is computed here, last, on the request httpx will send;
* the signing service is `bedrock` (botocore's signingName), not the `bedrock-runtime`
  endpoint prefix, and the region is both in the host and in the credential scope;
* the path is already percent-encoded (`:` in a model id is `%3A`); SigV4's canonical URI
  for every service but S3 encodes it AGAIN (`%253A`), which is what AWS verifies.

The region also picks the host: a `{region}` placeholder in the base URL is filled here, when
the transport is built, from the `region` setting (checked to be a plain region name, so it
cannot change the host to another domain). Credentials are read from the settings on every
request, so callables and `update()` rotate them on a live client. No botocore at runtime:
the signer is ~80 lines and is tested byte-for-byte against botocore's and AWS's vectors.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
from collections.abc import Callable, Generator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

import httpx

from llmkit._errors import ConfigError
from llmkit._settings import Secret

if TYPE_CHECKING:
    from llmkit._settings import ResolvedSettings

__all__ = [
    "ALGORITHM",
    "SIGNING_SERVICE",
    "BedrockAuth",
    "auth",
    "canonical_request",
    "fill_region",
    "sign",
    "signing_key",
]

ALGORITHM = "AWS4-HMAC-SHA256"
SIGNING_SERVICE = "bedrock"
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d+$")
_UNSIGNED = frozenset({"authorization", "user-agent", "expect", "transfer-encoding", "x-amzn-trace-id", "connection"})
_ALWAYS = ("host", "content-type", "x-amz-date", "x-amz-security-token")
_NONE = (
    "no credentials for 'bedrock': pass providers={'bedrock': {'api_key': ...}} (a Bedrock API key; or set "
    "AWS_BEARER_TOKEN_BEDROCK), or 'aws_access_key_id' and 'aws_secret_access_key' (+ 'aws_session_token' for "
    "temporary credentials; or set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN)"
)


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """The SigV4 key chain: HMAC("AWS4"+secret, date) -> region -> service -> "aws4_request"."""
    k = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _canonical_path(raw_path: str) -> str:
    """The URI as sent, encoded once more (non-S3 rule); `/` stays, so do `-_.~`."""
    return quote(raw_path or "/", safe="/~")


def _canonical_query(raw_query: str) -> str:
    """Pairs decoded, re-encoded with RFC 3986 unreserved characters, sorted by name then value."""
    if not raw_query:
        return ""
    pairs = []
    for item in raw_query.split("&"):
        name, _, value = item.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def canonical_request(
    method: str, raw_path: str, raw_query: str, headers: Mapping[str, str], signed: list[str], body: bytes
) -> str:
    """SigV4's canonical request; `headers` has lower-case names, `signed` is sorted."""
    lines = [f"{name}:{' '.join(headers[name].split())}\n" for name in signed]
    return "\n".join(
        [
            method.upper(),
            _canonical_path(raw_path),
            _canonical_query(raw_query),
            "".join(lines),
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )


def sign(
    request: httpx.Request,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    session_token: str | None = None,
    service: str = SIGNING_SERVICE,
    now: _dt.datetime | None = None,
) -> None:
    """Sign `request` in place: X-Amz-Date, X-Amz-Security-Token (if any) and Authorization."""
    when = (now or _dt.datetime.now(_dt.UTC)).astimezone(_dt.UTC)
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    request.headers["X-Amz-Date"] = amz_date
    if session_token:
        request.headers["X-Amz-Security-Token"] = session_token
    else:
        request.headers.pop("X-Amz-Security-Token", None)
    request.headers.pop("Authorization", None)
    lower = {k.lower(): v for k, v in request.headers.items()}
    signed = sorted(
        n for n in lower if n not in _UNSIGNED and (n in _ALWAYS or n.startswith(("x-amz-", "x-amzn-bedrock-")))
    )
    url = request.url
    creq = canonical_request(
        request.method,
        url.raw_path.split(b"?", 1)[0].decode("ascii"),
        url.query.decode("ascii"),
        lower,
        signed,
        request.content,
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(creq.encode("utf-8")).hexdigest()])
    signature = hmac.new(signing_key(secret_key, date, region, service), to_sign.encode("utf-8"), hashlib.sha256)
    request.headers["Authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={';'.join(signed)}, "
        f"Signature={signature.hexdigest()}"
    )


def fill_region(settings: ResolvedSettings) -> str:
    """The region, checked, and put into a `{region}` placeholder of the base URL."""
    region = settings.values.get("region")
    if not isinstance(region, str) or not _REGION.match(region):
        raise ConfigError(
            f"bad region {region!r} for 'bedrock': pass providers={{'bedrock': {{'region': 'us-east-1'}}}} "
            "(or set AWS_REGION) with an AWS region name",
            provider="bedrock",
        )
    if "{region}" in settings.base_url:
        settings.base_url = settings.base_url.replace("{region}", region)
    return region


def _text(v: object) -> str | None:
    if isinstance(v, Secret):
        return v.get()
    return None if v is None else str(v)


class BedrockAuth(httpx.Auth):
    """Bearer API key, else a SigV4 signature over the final request; never shows a credential."""

    requires_request_body = True

    def __init__(self, settings: ResolvedSettings, clock: Callable[[], _dt.datetime] | None = None) -> None:
        self._settings = settings
        self._region = fill_region(settings)
        self._clock = clock

    def __repr__(self) -> str:
        kind = "api-key" if self._settings.values.get("api_key") is not None else "sigv4"
        return f"BedrockAuth({kind}, region={self._region!r})"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        values = self._settings.values  # one snapshot: never half of an update()
        key = _text(values.get("api_key"))
        if key:
            request.headers["Authorization"] = f"Bearer {key}"
            yield request
            return
        access, secret = _text(values.get("aws_access_key_id")), _text(values.get("aws_secret_access_key"))
        if not access or not secret:
            raise ConfigError(_NONE, provider="bedrock")
        sign(
            request,
            access_key=access,
            secret_key=secret,
            region=self._region,
            session_token=_text(values.get("aws_session_token")),
            now=self._clock() if self._clock is not None else None,
        )
        yield request


def auth(settings: ResolvedSettings) -> httpx.Auth:
    """The Bedrock credential hook; ConfigError naming both ways when neither is set."""
    v = settings.values
    if v.get("api_key") is None and (v.get("aws_access_key_id") is None or v.get("aws_secret_access_key") is None):
        raise ConfigError(_NONE, provider="bedrock")
    return BedrockAuth(settings)
