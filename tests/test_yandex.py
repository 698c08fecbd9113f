"""YandexGPT on the wire: the three credential forms (API key, IAM token, service-account key
traded for IAM tokens with a PS256 JWT the emulator verifies), model URIs with the folder id,
the native completion API with its cumulative NDJSON stream, tool calls, async completions with
operation polling, token counts, the OpenAI-compatible route, errors and refusals.

Fixtures follow wire-facts-regional.md §2 (docs sources and the official SDK's recorded traffic).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

import llmkit
from llmkit._registry import provider_spec
from llmkit._settings import resolve_settings
from llmkit.overrides import yandex as yauth
from llmkit.testing._server import Emulator
from llmkit.testing._yandex_emu import AUDIENCE, HANDLER

FOLDER = "b1gemufolder"
MODEL = "yandex/yandexgpt/latest"
HI = [{"role": "user", "content": "Привет, как дела?"}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Погода",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def yandex(emu: Emulator, **extra: Any) -> llmkit.Client:
    given = {"api_key": "test-key", "folder_id": FOLDER, "base_url": emu.base_url("yandex"), "max_retries": 0}
    given.update(extra)
    return llmkit.Client(providers={"yandex": {k: v for k, v in given.items() if v is not None}})


def paths(emu: Emulator) -> list[str]:
    return [r.subpath for r in emu.requests]


def big_backlog(emu: Emulator) -> None:
    assert emu._server is not None
    emu._server.socket.listen(1024)  # the default backlog of 5 overflows under 50 simultaneous connects


@pytest.fixture(scope="module")
def sa_key() -> dict[str, str]:
    """An authorized key as `yc iam key create` writes it, its public half registered with the emulator."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key = {
        "id": "ajekeyid0000emulated",
        "service_account_id": "ajesaid00000emulated",
        "created_at": "2026-11-25T10:00:00Z",
        "key_algorithm": "RSA_2048",
        "public_key": public.decode(),
        "private_key": private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    }
    HANDLER.register_key(key["id"], key["service_account_id"], public)
    return key


def sa_client(emu: Emulator, key: Any) -> llmkit.Client:
    return yandex(emu, api_key=None, service_account_key=key, iam_url=emu.base_url("yandex") + "/iam/v1/tokens")


def auth_of(client: Any) -> Any:
    return client._transport("yandex", client._spec("yandex")).auth


def _jwt_parts(jwt: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def dec(p: str) -> Any:
        return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))

    head, claims, _ = jwt.split(".")
    return dec(head), dec(claims)


# -- credentials ---------------------------------------------------------------------------------


def test_api_key_auth_and_the_native_request(emu: Emulator) -> None:
    with yandex(emu) as c:
        resp = c.chat(MODEL, [{"role": "system", "content": "Переведи текст"}, *HI], max_tokens=100, temperature=0.1)
    req = emu.last_request
    assert (req.method, req.subpath) == ("POST", "/foundationModels/v1/completion")
    assert req.headers["authorization"] == "Api-Key test-key" and "x-folder-id" not in req.headers
    assert req.json() == {
        "modelUri": f"gpt://{FOLDER}/yandexgpt/latest",
        "completionOptions": {"stream": False, "temperature": 0.1, "maxTokens": "100"},
        "messages": [{"role": "system", "text": "Переведи текст"}, {"role": "user", "text": "Привет, как дела?"}],
    }
    assert (resp.text, resp.finish_reason, resp.raw_finish_reason) == (
        "You said: Привет, как дела?",
        "stop",
        "ALTERNATIVE_STATUS_FINAL",
    )
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (5, 5)


def test_iam_token_goes_as_bearer_with_the_folder_header(emu: Emulator) -> None:
    HANDLER.register_iam_token("t1.static-token")
    tokens = iter(["t1.static-token", "t1.rotated"])
    HANDLER.register_iam_token("t1.rotated")
    with yandex(emu, api_key=None, iam_token=lambda: next(tokens)) as c:
        c.chat(MODEL, HI)
        c.chat(MODEL, HI)
    first, second = emu.requests
    assert first.headers["authorization"] == "Bearer t1.static-token" and first.headers["x-folder-id"] == FOLDER
    assert second.headers["authorization"] == "Bearer t1.rotated"


def test_a_model_uri_in_another_folder_is_refused_with_grpc_shape(emu: Emulator) -> None:
    HANDLER.register_iam_token("t1.static-token")
    with yandex(emu, api_key=None, iam_token="t1.static-token") as c, pytest.raises(llmkit.AuthenticationError) as info:
        c.chat("yandex/gpt://b1gotherfolder/yandexgpt/latest", HI)
    assert info.value.status == 403
    assert info.value.body == {
        "error": {
            "grpcCode": 7,
            "httpCode": 403,
            "message": "Permission to [resource-manager.folder b1gotherfolder] denied",
            "httpStatus": "Forbidden",
            "details": [],
        }
    }


@pytest.mark.parametrize("form", ["json", "dict", "path"])
def test_service_account_key_is_traded_for_an_iam_token(emu: Emulator, sa_key: Any, form: str, tmp_path: Path) -> None:
    given: Any = {"json": json.dumps(sa_key), "dict": sa_key, "path": None}[form]
    if form == "path":
        given = tmp_path / "authorized_key.json"
        given.write_text(json.dumps(sa_key))
        given = str(given)
    with sa_client(emu, given) as c:
        c.chat(MODEL, HI)
        c.chat(MODEL, HI)
    iam, chat1, chat2 = emu.requests
    assert (iam.method, iam.subpath, iam.headers["content-type"]) == ("POST", "/iam/v1/tokens", "application/json")
    assert list(iam.json()) == ["jwt"]
    header, claims = _jwt_parts(iam.json()["jwt"])
    assert header == {"typ": "JWT", "alg": "PS256", "kid": sa_key["id"]}
    assert claims["iss"] == sa_key["service_account_id"] and claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 3600
    token = chat1.headers["authorization"].removeprefix("Bearer ")
    assert token.startswith("t1.") and chat2.headers["authorization"] == f"Bearer {token}"
    assert chat1.headers["x-folder-id"] == FOLDER


def test_iam_token_renewed_hourly_not_at_its_12h_expiry(emu: Emulator, sa_key: Any) -> None:
    now = [1_790_000_000.0]
    with sa_client(emu, sa_key) as c:
        auth = auth_of(c)
        auth.clock = lambda: now[0]
        c.chat(MODEL, HI)
        assert auth._token.expires_at == now[0] + 3600  # the server said 12 h; renewed after 1 h
        now[0] += 3600 - 61
        c.chat(MODEL, HI)
        assert paths(emu).count("/iam/v1/tokens") == 1
        now[0] += 2
        c.chat(MODEL, HI)
    assert paths(emu).count("/iam/v1/tokens") == 2
    jwts = [r.json()["jwt"] for r in emu.requests if r.subpath == "/iam/v1/tokens"]
    assert _jwt_parts(jwts[1])[1]["iat"] == int(now[0])


def test_one_iam_exchange_for_50_threads(emu: Emulator, sa_key: Any) -> None:
    big_backlog(emu)
    with sa_client(emu, sa_key) as c:
        barrier = threading.Barrier(50)
        out: list[str] = []

        def call() -> None:
            barrier.wait()
            out.append(c.chat(MODEL, HI).text)

        threads = [threading.Thread(target=call) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert out == ["You said: Привет, как дела?"] * 50
    assert paths(emu).count("/iam/v1/tokens") == 1


def test_one_iam_exchange_for_50_tasks(emu: Emulator, sa_key: Any) -> None:
    big_backlog(emu)

    async def run() -> list[str]:
        async with llmkit.AsyncClient(
            providers={
                "yandex": {
                    "service_account_key": sa_key,
                    "folder_id": FOLDER,
                    "base_url": emu.base_url("yandex"),
                    "iam_url": emu.base_url("yandex") + "/iam/v1/tokens",
                    "max_retries": 0,
                }
            }
        ) as c:
            return [r.text for r in await asyncio.gather(*(c.chat(MODEL, HI) for _ in range(50)))]

    assert asyncio.run(run()) == ["You said: Привет, как дела?"] * 50
    assert paths(emu).count("/iam/v1/tokens") == 1 and paths(emu).count("/foundationModels/v1/completion") == 50


def test_a_revoked_iam_token_is_replaced_once(emu: Emulator, sa_key: Any) -> None:
    with sa_client(emu, sa_key) as c:
        c.chat(MODEL, HI)
        HANDLER.revoke_iam_tokens()
        assert c.chat(MODEL, HI).text == "You said: Привет, как дела?"
    assert paths(emu) == [
        "/iam/v1/tokens",
        "/foundationModels/v1/completion",
        "/foundationModels/v1/completion",
        "/iam/v1/tokens",
        "/foundationModels/v1/completion",
    ]


def test_a_key_the_iam_service_does_not_know(emu: Emulator, sa_key: Any) -> None:
    unknown = {**sa_key, "id": "ajeunknownkey"}
    with sa_client(emu, unknown) as c, pytest.raises(llmkit.AuthenticationError) as info:
        c.chat(MODEL, HI)
    assert "refused the credential: HTTP 401" in str(info.value) and "Key not found" in str(info.value)
    assert sa_key["private_key"][40:80] not in str(info.value)
    assert paths(emu) == ["/iam/v1/tokens"]


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"api_key": None}, "no credentials for 'yandex'"),
        ({"service_account_key": '{"id": "x"}'}, "is not an authorized key"),
        ({"service_account_key": "/no/such/key.json"}, "no such file"),
        ({"api": "grpc"}, "api must be 'native' or 'openai'"),
    ],
)
def test_bad_credentials_are_config_errors_before_any_request(emu: Emulator, extra: Any, match: str) -> None:
    with yandex(emu, **extra) as c, pytest.raises(llmkit.ConfigError, match=match):
        c.chat(MODEL, HI)
    assert emu.requests == []


def test_without_a_folder_a_short_model_name_is_refused(emu: Emulator) -> None:
    with yandex(emu, folder_id=None) as c:
        with pytest.raises(llmkit.ConfigError, match=r"needs a folder id to become gpt://<folder_id>/yandexgpt/latest"):
            c.chat(MODEL, HI)
        assert emu.requests == []
        c.chat(f"yandex/gpt://{FOLDER}/yandexgpt-lite/rc", HI)  # a full URI needs no folder setting
    assert emu.last_request.json()["modelUri"] == f"gpt://{FOLDER}/yandexgpt-lite/rc"


def test_operations_go_to_the_operation_host(sa_key: Any) -> None:
    spec = provider_spec("yandex")
    for given, expected in (
        ({}, "https://operation.api.cloud.yandex.net/operations/d7q1"),
        ({"operation_url": "https://ops.example/"}, "https://ops.example/operations/d7q1"),
        ({"base_url": "https://proxy.example/yc"}, "https://proxy.example/yc/operations/d7q1"),
    ):
        settings = resolve_settings(spec, {"api_key": "k", "folder_id": FOLDER, **given})
        base = settings.base_url
        request = httpx.Request("GET", base + "/operations/d7q1")
        flow = yauth.auth(settings).sync_auth_flow(request)
        sent = next(flow)
        assert str(sent.url) == expected and sent.headers["authorization"] == "Api-Key k"
    chat = httpx.Request("POST", "https://llm.api.cloud.yandex.net/foundationModels/v1/completion")
    sent = next(yauth.auth(resolve_settings(spec, {"api_key": "k"})).sync_auth_flow(chat))
    assert str(sent.url) == "https://llm.api.cloud.yandex.net/foundationModels/v1/completion"


def test_no_secret_in_reprs(emu: Emulator, sa_key: Any) -> None:
    with sa_client(emu, sa_key) as c:
        c.chat(MODEL, HI)
        token = emu.last_request.headers["authorization"].removeprefix("Bearer ")
        shown = repr(auth_of(c)) + repr(auth_of(c)._token) + repr(c._settings("yandex", c._spec("yandex")))
    assert token not in shown and sa_key["private_key"][40:80] not in shown
