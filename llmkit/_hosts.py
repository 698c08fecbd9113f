"""Where one provider's requests may go: its base URL and the hosts of its own operations.

Most providers have one API root. Some operations live on a host of their own: Jina Reader
on `r.jina.ai` beside `api.jina.ai`, Bedrock's control plane `bedrock.{region}.amazonaws.com`
beside the runtime. A spec says so per operation (`base_url`, optionally `base_url_setting`);
this module resolves those roots and is the one place that says which origins are trusted.

Security: the set of trusted origins is fixed by the spec and the user's settings, never by
a request. A `{setting}` placeholder in a spec host takes exactly one DNS label (`us-east-1`),
so no setting value can move a request to another domain. The transport attaches the key only
to trusted origins and refuses to send anything it built elsewhere.

Choice (documented in docs/native.md): an operation's host is repointed only by its own
setting (`reader_base_url`, `control_base_url`), never by the provider's `base_url`. A user who
routes chat through a proxy or a VPC endpoint has not said where the other host lives, and the
llmkit.testing emulator serves each host under its own prefix, so it sets both settings.
"""

from __future__ import annotations

import re

import httpx

from ._errors import ConfigError
from ._log import redact_url
from ._settings import ResolvedSettings

__all__ = ["Hosts", "origin"]

_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_HOST_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

Origin = tuple[str, str, int | None]


def origin(url: str | httpx.URL) -> Origin:
    """(scheme, host, port) of a URL: what must match for a request to be trusted."""
    u = httpx.URL(url) if isinstance(url, str) else url
    return (u.scheme, u.host, u.port)


class Hosts:
    """The API roots of one provider's operations, and the origins its credentials may reach.

    Build it after any override has filled the provider's own base URL (Bedrock's `{region}`).
    Operation hosts that cannot be resolved yet (a missing setting) raise ConfigError only when
    that operation is called, so a bad Reader setting never breaks embeddings.
    """

    __slots__ = ("_bases", "_origins", "_settings")

    def __init__(self, settings: ResolvedSettings) -> None:
        self._settings = settings
        self._bases: dict[str, str] = {}
        self._origins: set[Origin] = {origin(settings.base_url)}
        for op in settings.spec.operations.values():
            if op.base_url is not None:
                try:
                    self.base_for(op.name)
                except ConfigError:
                    pass

    def base_for(self, operation: str | None) -> str:
        """The API root of `operation`: its own host when the spec gives it one, else the provider's."""
        s = self._settings
        if operation is None:
            return s.base_url
        known = self._bases.get(operation)
        if known is not None:
            return known
        op = s.spec.operations.get(operation)
        if op is None or op.base_url is None:
            return s.base_url
        base = self._resolve(op.name, op.base_url, op.base_url_setting)
        self._origins.add(origin(base))
        self._bases[operation] = base
        return base

    def _resolve(self, name: str, template: str, setting: str | None) -> str:
        s = self._settings
        provider = s.spec.id
        given = s.get(setting) if setting else None
        if given is not None and given != "":
            url = str(given)
            if not url.startswith(("http://", "https://")):
                raise ConfigError(
                    f"{setting} for {provider!r} must start with http:// or https://, got {url!r}", provider=provider
                )
            return url.rstrip("/")

        def fill(m: re.Match[str]) -> str:
            value = s.get(m.group(1))
            if not isinstance(value, str) or not _HOST_LABEL.match(value):
                raise ConfigError(
                    f"the {m.group(1)!r} setting of {provider!r} goes into the host {template} of {name!r} and "
                    f"must be one DNS label (lower-case letters, digits, '-'), got {value!r}",
                    provider=provider,
                )
            return value

        return _PLACEHOLDER.sub(fill, template)

    def trusts(self, url: httpx.URL) -> bool:
        """Whether `url` is on an origin the provider's spec names or its user configured."""
        return (url.scheme, url.host, url.port) in self._origins

    def check(self, url: httpx.URL) -> None:
        """Refuse a request for any other origin (a bug in llmkit, never a provider's choice)."""
        if not self.trusts(url):
            provider = self._settings.spec.id
            raise ConfigError(
                f"refusing to send a {provider} request to {redact_url(str(url))}: that host is neither in its "
                "spec nor configured by you",
                provider=provider,
            )
