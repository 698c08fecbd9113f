"""HTTP for one provider: a pooled httpx client, auth, retries, deadlines and typed errors.

This module is the import point the rest of llmkit uses; the work is split by job:

- `_transport_base`: settings, hosts and credentials shared by the sync and async transports;
- `_request_build`: the URL, headers, query and body (JSON, raw bytes or an encoded form);
- `_retry`: error mapping and the retry policy (which failures, how long to wait);
- `_deadline`: `total_timeout` and reading a body under it;
- `_sync_transport` / `_async_transport`: the one retry loop each, for every body kind.

`ProviderTransport` and `AsyncProviderTransport` share everything but the I/O. Retries cover
connection errors, timeouts and the retryable statuses, honour the server's wait hints, and
never happen once a stream has handed an event to the caller (that is the stream's job).

Security decisions made here, each tested in tests/test_security_*.py:
- The API key is added by a wrapping httpx transport to a per-send copy of the request, so it
  is never in an object the caller or httpx's own logging sees (`response.request`, errors).
  It is read from the settings for every send, so a rotated key is used by the next request.
- Redirects are never followed: a 3xx is an APIError naming where it pointed, so no credential
  can be forwarded to another host.
- TLS is verified unless the setting named `insecure_skip_tls_verify` says otherwise.
- A request path holding `?`, `#` or a dot segment is refused: path parts must be encoded.
- Requests go only to the origins in `_hosts.Hosts` (the base URL and the hosts the spec gives
  operations of their own); the key is attached to no other, and nothing built here is sent
  to any other.
"""

from __future__ import annotations

from ._async_transport import AsyncProviderTransport
from ._deadline import DEADLINE_CODE, Deadline, aiter_chunks, iter_chunks
from ._retry import decode_json
from ._sync_transport import ProviderTransport
from ._transport_base import TransportBase

__all__ = [
    "DEADLINE_CODE",
    "AsyncProviderTransport",
    "Deadline",
    "ProviderTransport",
    "aiter_chunks",
    "decode_json",
    "iter_chunks",
]

_Base = TransportBase  # the shared base, under the name tests patch the retry policy on
