"""overrides/_token.py against a local fake token endpoint: one fetch for many calls, refresh
before expiry, one refresh under 100 concurrent threads or tasks, one retry on 401, a clear
AuthenticationError when the endpoint is down or refuses, rotation, and no token in any repr."""

from __future__ import annotations

import asyncio
import threading
import types
from typing import Any

import attrs
import httpx
import pytest

import llmkit
from llmkit._registry import dialect, provider_spec
from llmkit._settings import resolve_settings
from llmkit._spec import AuthSpec, SettingSpec
from llmkit._transport import AsyncProviderTransport, ProviderTransport
from llmkit.dialects._base import WireRequest
from llmkit.overrides._token import Token, TokenAuth
from tests._faulty import FaultyServer, Received, closed_port, openai_body, respond

CHAT = WireRequest(method="POST", path="/chat/completions", body={"model": "gpt-4o-mini", "messages": []})


class FakeIdP:
    """A token endpoint plus an API that accepts only the tokens it issued and has not revoked."""

    def __init__(self, expires_in: int = 3600, delay: float = 0.0, token_status: int = 200) -> None:
        self.expires_in = expires_in
        self.delay = delay
        self.token_status = token_status
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.credentials_seen: list[str] = []
        self.api_calls = 0
        self.lock = threading.Lock()

    def __call__(self, req: Received) -> Any:
        if req.path == "/oauth/token":
            with self.lock:
                self.credentials_seen.append(req.headers.get("authorization", ""))
                token = f"tok-{len(self.issued) + 1}"
                self.issued.append(token)
            if self.token_status != 200:
                return respond(self.token_status, {"error": "invalid_client", "error_description": "bad credentials"})
            return self._slow(
                respond(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in})
            )
        with self.lock:
            self.api_calls += 1
        auth = req.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return respond(401, {"error": {"message": "invalid token", "type": "invalid_request_error"}})
        return respond(200, openai_body(f"hello with {token}"))

    def _slow(self, fault: Any) -> Any:
        async def run(req: Received, r: asyncio.StreamReader, w: asyncio.StreamWriter) -> bool:
            await asyncio.sleep(self.delay)
            return bool(await fault(req, r, w))

        return run


class DemoAuth(TokenAuth):
    """What a provider override writes: the token request and nothing else."""

    def token_request(self) -> httpx.Request:
        creds = self.settings.secret("credentials") or ""
        return httpx.Request(
            "POST",
            str(self.settings.get("auth_url")),
            headers={"Authorization": f"Basic {creds}"},
            data={"grant_type": "client_credentials", "scope": "demo"},
        )


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def transports(
    srv: FaultyServer,
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock | None = None,
    auth_url: str | None = None,
    **settings: Any,
) -> tuple[ProviderTransport, AsyncProviderTransport, list[DemoAuth]]:
    made: list[DemoAuth] = []

    def factory(s: Any) -> DemoAuth:
        a = DemoAuth(s, clock=clock or Clock())
        made.append(a)
        return a

    module = types.ModuleType("llmkit.overrides.demo_token")
    module.auth = factory  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "llmkit.overrides.demo_token", module)
    base = provider_spec("openai")
    spec = attrs.evolve(
        base,
        auth=AuthSpec(scheme="override"),
        overrides=(("auth", "demo_token"),),
        settings=(*base.settings, SettingSpec(name="credentials", secret=True), SettingSpec(name="auth_url")),
    )
    resolved = resolve_settings(
        spec,
        {
            "credentials": "Y2xpZW50OnNlY3JldA==",
            "auth_url": auth_url or srv.url + "/oauth/token",
            "base_url": srv.url + "/v1",
            "max_retries": 0,
            **settings,
        },
    )
    d = dialect("openai_chat")
    return ProviderTransport(resolved, d), AsyncProviderTransport(resolved, d), made


def test_one_fetch_serves_many_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    idp = FakeIdP()
    with FaultyServer(idp) as srv:
        sync, _, (auth, _a) = transports(srv, monkeypatch)
        for _ in range(5):
            assert sync.send(CHAT).json()["choices"][0]["message"]["content"] == "hello with tok-1"
        assert (len(idp.issued), idp.api_calls, auth.fetches) == (1, 5, 1)
        assert idp.credentials_seen == ["Basic Y2xpZW50OnNlY3JldA=="]
        assert srv.requests[0].body == b"grant_type=client_credentials&scope=demo"
        sync.close()


def test_refresh_before_expiry_not_after(monkeypatch: pytest.MonkeyPatch) -> None:
    idp = FakeIdP(expires_in=300)
    clock = Clock()
    with FaultyServer(idp) as srv:
        sync, _, _ = transports(srv, monkeypatch, clock)
        sync.send(CHAT)
        clock.now += 239  # 61 s left: still outside the 60 s margin
        sync.send(CHAT)
        assert idp.issued == ["tok-1"]
        clock.now += 2  # 59 s left: refreshed before it can expire mid-request
        assert sync.send(CHAT).json()["choices"][0]["message"]["content"] == "hello with tok-2"
        assert idp.issued == ["tok-1", "tok-2"] and idp.api_calls == 3


def test_single_flight_under_100_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    idp = FakeIdP(delay=0.3)
    with FaultyServer(idp) as srv:
        sync, _, _ = transports(srv, monkeypatch)
        barrier = threading.Barrier(100)
        out: list[str] = []

        def worker() -> None:
            barrier.wait()
            out.append(sync.send(CHAT).json()["choices"][0]["message"]["content"])

        threads = [threading.Thread(target=worker) for _ in range(100)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert out == ["hello with tok-1"] * 100
        assert idp.issued == ["tok-1"] and idp.api_calls == 100
        sync.close()


def test_single_flight_under_100_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    idp = FakeIdP(delay=0.3)
    with FaultyServer(idp) as srv:
        _, async_t, _ = transports(srv, monkeypatch)

        async def main() -> list[str]:
            rs = await asyncio.gather(*(async_t.send(CHAT) for _ in range(100)))
            await async_t.aclose()
            return [r.json()["choices"][0]["message"]["content"] for r in rs]

        assert asyncio.run(main()) == ["hello with tok-1"] * 100
        assert idp.issued == ["tok-1"] and idp.api_calls == 100


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_one_retry_on_401_with_a_new_token(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    idp = FakeIdP()
    with FaultyServer(idp) as srv:
        sync, async_t, _ = transports(srv, monkeypatch)

        async def steps() -> tuple[str, BaseException]:
            send = sync.send if kind == "sync" else None

            async def one() -> httpx.Response:
                return send(CHAT) if send is not None else await async_t.send(CHAT)

            await one()
            idp.revoked.add("tok-1")  # revoked server-side before its expiry
            second = (await one()).json()["choices"][0]["message"]["content"]
            assert idp.issued == ["tok-1", "tok-2"] and idp.api_calls == 3
            idp.revoked.update({"tok-2", "tok-3"})  # the fresh token is refused too
            try:
                await one()
            except llmkit.AuthenticationError as exc:
                return second, exc
            finally:
                await async_t.aclose()
            raise AssertionError("a refused fresh token must surface the 401")

        second, err = asyncio.run(steps())
        assert second == "hello with tok-2"
        assert "invalid token" in str(err) and isinstance(err, llmkit.AuthenticationError) and err.status == 401
        # One retry with a fresh token, then the 401 surfaces: 3 tokens, 5 API calls in all.
        assert idp.issued == ["tok-1", "tok-2", "tok-3"] and idp.api_calls == 5


@pytest.mark.parametrize("kind", ["sync", "sync-stream", "async", "async-stream"])
def test_auth_endpoint_down_is_a_clear_authentication_error(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    idp = FakeIdP()
    with FaultyServer(idp) as srv:
        dead = f"http://127.0.0.1:{closed_port()}/oauth/token"
        sync, async_t, _ = transports(srv, monkeypatch, auth_url=dead)

        async def astream() -> None:
            async with async_t.stream(CHAT):
                pass

        def stream() -> None:
            with sync.stream(CHAT):
                pass

        run = {
            "sync": lambda: sync.send(CHAT),
            "sync-stream": stream,
            "async": lambda: asyncio.run(async_t.send(CHAT)),
            "async-stream": lambda: asyncio.run(astream()),
        }[kind]
        with pytest.raises(
            llmkit.AuthenticationError,
            match=r"could not get an access token for openai from http://127\.0\.0\.1:\d+/oauth/token: ConnectError",
        ) as info:
            run()
        assert info.value.provider == "openai" and "Y2xpZW50" not in str(info.value)
        assert idp.api_calls == 0


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_auth_endpoint_refusing_the_credential(monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    idp = FakeIdP(token_status=401)
    with FaultyServer(idp) as srv:
        sync, async_t, _ = transports(srv, monkeypatch)
        with pytest.raises(
            llmkit.AuthenticationError, match="refused the credential: HTTP 401: .*bad credentials"
        ) as info:
            sync.send(CHAT) if kind == "sync" else asyncio.run(async_t.send(CHAT))
        assert info.value.status == 401 and idp.api_calls == 0


def test_token_answer_without_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultyServer(lambda req: respond(200, {"token_type": "Bearer"})) as srv:
        sync, _, _ = transports(srv, monkeypatch)
        with pytest.raises(llmkit.AuthenticationError, match="answered without a usable token: no 'access_token'"):
            sync.send(CHAT)


def test_rotating_the_credential_fetches_a_new_token(monkeypatch: pytest.MonkeyPatch) -> None:
    idp = FakeIdP()
    with FaultyServer(idp) as srv:
        sync, _, _ = transports(srv, monkeypatch)
        sync.send(CHAT)
        sync.settings.update(credentials="bmV3OmNyZWRz")
        assert sync.send(CHAT).json()["choices"][0]["message"]["content"] == "hello with tok-2"
        assert idp.credentials_seen == ["Basic Y2xpZW50OnNlY3JldA==", "Basic bmV3OmNyZWRz"]


def test_tokens_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    idp = FakeIdP()
    with FaultyServer(idp) as srv:
        sync, _, made = transports(srv, monkeypatch)
        sync.send(CHAT)
        assert made[0].fetches == 1
        token = Token("tok-secret", 5.0)
        assert "tok-secret" not in repr(token) and token.value.get() == "tok-secret"
        for obj in (sync, sync.settings, sync.auth):
            assert "tok-1" not in repr(obj) and "Y2xpZW50" not in repr(obj)


def test_token_from_json_shapes() -> None:
    assert Token.from_json({"access_token": "a", "expires_in": 30}, now=100.0).expires_at == 130.0
    giga = Token.from_json({"access_token": "g", "expires_at": 1_700_000_000_000}, expires_at_key="expires_at")
    assert giga.expires_at == 1_700_000_000.0
    yandex = Token.from_json(
        {"iamToken": "y", "expiresAt": "2023-11-14T22:13:20Z"}, token_key="iamToken", expires_at_key="expiresAt"
    )
    assert yandex.expires_at == 1_700_000_000.0 and yandex.value.get() == "y"
    assert Token.from_json({"access_token": "n"}).expires_at is None
    with pytest.raises(ValueError, match="no 'access_token'"):
        Token.from_json({"access_token": ""})


def test_a_token_flow_that_is_not_one_request() -> None:
    """Subclasses may replace fetching entirely (metadata servers, signed JWT assertions)."""

    class Static(TokenAuth):
        def fetch_token(self) -> Token:
            return Token("static-1", None)

    spec = provider_spec("openai")
    auth = Static(resolve_settings(spec, {"api_key": "x"}))
    req = httpx.Request("GET", "http://127.0.0.1/x")
    flow = auth.sync_auth_flow(req)
    assert next(flow).headers["authorization"] == "Bearer static-1"
    with pytest.raises(NotImplementedError, match="must implement token_request"):
        asyncio.run(auth.afetch_token())
