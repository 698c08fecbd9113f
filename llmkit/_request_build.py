"""What one attempt sends: the URL, headers, query and body built from a `WireRequest`.

A request path holding `?`, `#` or a dot segment is refused (path parts must be encoded), and
the origin comes from `_hosts.Hosts`, never from the request. The body is JSON, raw bytes,
or a form encoded once (`encoded`) so every attempt, and a signer such as SigV4, sees the
same bytes. No credential is ever among the headers built here (see `_transport_base`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import attrs
import httpx

from ._constants import USER_AGENT
from ._errors import ConfigError
from ._hosts import Hosts
from ._settings import ResolvedSettings
from ._spec import ProviderSpec
from .dialects._base import WireRequest

__all__ = ["RequestBuilder"]


class RequestBuilder:
    """The request-building half of a provider transport (a mixin of `TransportBase`)."""

    provider: str
    spec: ProviderSpec
    settings: ResolvedSettings
    hosts: Hosts
    base_headers: dict[str, str]

    def _static_headers(self) -> dict[str, str]:
        """Headers that never change: no credential is ever among them."""
        spec, s = self.spec, self.settings
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        headers.update(dict(spec.headers))
        secret_names = {st.name for st in spec.settings if st.secret}
        for setting in spec.settings:
            if setting.header and setting.name not in secret_names and s.get(setting.name) is not None:
                headers[setting.header] = str(s.get(setting.name))
        headers.update(s.headers)
        return headers

    def url(self, req: WireRequest) -> str:
        path = req.path
        if "?" in path or "#" in path or any(seg in (".", "..") for seg in _decoded_segments(path)):
            raise ConfigError(
                f"refusing to send a request to {self.provider} with path {path!r}: path parts such as model ids "
                "must be percent-encoded (a '?', '#' or '..' there would change where the request goes)",
                provider=self.provider,
            )
        return self.hosts.base_for(req.operation) + path

    def headers(self, req: WireRequest, extra: Mapping[str, str] | None) -> dict[str, str]:
        h = dict(self.base_headers)
        if req.body is not None:
            h["Content-Type"] = "application/json"
        elif req.content_type is not None:
            h["Content-Type"] = req.content_type
        if req.stream:
            h["Accept"] = "text/event-stream"
        h.update(req.headers)
        if extra:
            h.update(extra)
        return h

    def query(self, req: WireRequest, extra: Mapping[str, str] | None) -> dict[str, str | Sequence[str]]:
        q: dict[str, str | Sequence[str]] = dict(req.query)
        if req.repeated_query:
            q.update(req.repeated_query)
        if extra:
            q.update(extra)
        return q

    def content(self, req: WireRequest) -> bytes | None:
        """The body's bytes: raw content as given, or JSON, where a value JSON cannot carry is a
        ConfigError before anything is sent. A form must have gone through `encoded` first."""
        if req.body is None:
            return req.content
        try:
            text = json.dumps(req.body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"the request for {self.provider} cannot be sent as JSON ({exc}); tool arguments, extra_body and "
                "provider_options must hold only dict, list, str, int, finite float, bool or None",
                provider=self.provider,
            ) from None
        return text.encode("utf-8")

    def encoded(self, req: WireRequest) -> WireRequest:
        """`req` with its form (and files) encoded once into raw content and its content type.

        Built once per call, so every attempt sends identical bytes (one multipart boundary, a
        file read once), and a signer such as SigV4 signs exactly what goes on the wire.
        """
        if req.form is None and req.files is None:
            return req
        if req.body is not None or req.content is not None:
            raise ConfigError(
                f"a request to {self.provider} has both a form and a JSON or raw body; send one of them",
                provider=self.provider,
            )
        built = httpx.Request(req.method, "http://form.invalid/", data=req.form, files=req.files)
        content = built.read()
        ctype = built.headers.get("Content-Type")
        return attrs.evolve(req, content=content, content_type=ctype, form=None, files=None)


def _decoded_segments(path: str) -> list[str]:
    return [seg.replace("%2e", ".").replace("%2E", ".") for seg in path.split("/")]
