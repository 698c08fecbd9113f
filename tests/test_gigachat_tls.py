"""GigaChat over real TLS: a local HTTPS emulator whose certificate chains to a throwaway root
CA made here (as GigaChat's chain to the Russian Trusted Root CA, which certifi lacks). Without
`verify` the token endpoint and the API both fail verification; with the CA bundle as `verify`
(or GIGACHAT_CA_BUNDLE_FILE) both work; `verify=False` is refused."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

import llmkit
from llmkit.testing._server import Emulator, _make_handler


def make_ca(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A root CA and a 127.0.0.1 server certificate it signed: (CA bundle path, server context).

    (path of the CA bundle a client must trust, server SSLContext presenting the leaf)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "llmkit test Trusted Root CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_path, key_path)
    return ca_path, server


@pytest.fixture
def https_emu(tmp_path: Path, emu: Emulator) -> Iterator[tuple[str, Path]]:
    """The emulator served over HTTPS with a certificate from a private CA: (origin, CA bundle)."""
    ca_path, server_ctx = make_ca(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(emu))
    server.socket = server_ctx.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", ca_path
    finally:
        server.shutdown()
        server.server_close()


def _settings(origin: str, **extra: object) -> dict[str, object]:
    base = origin + "/gigachat/api/v1"
    return {
        "credentials": "Y2xpZW50OnNlY3JldA==",
        "base_url": base,
        "auth_url": base + "/oauth",
        "max_retries": 0,
        **extra,
    }


MSG = [{"role": "user", "content": "Привет"}]


def test_without_the_ca_bundle_the_token_endpoint_fails_verification(https_emu: tuple[str, Path]) -> None:
    origin, _ = https_emu
    with (
        llmkit.Client(providers={"gigachat": _settings(origin)}) as c,
        pytest.raises(llmkit.AuthenticationError, match=r"could not get an access token .*CERTIFICATE_VERIFY_FAILED"),
    ):
        c.chat("gigachat/GigaChat-2", MSG)


def test_without_the_ca_bundle_the_api_fails_verification(https_emu: tuple[str, Path]) -> None:
    origin, _ = https_emu
    settings = _settings(origin, api_key="ready-token")
    del settings["credentials"]
    with (
        llmkit.Client(providers={"gigachat": settings}) as c,
        pytest.raises(llmkit.ConnectionError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        c.chat("gigachat/GigaChat-2", MSG)


def test_with_the_ca_bundle_both_hosts_verify(https_emu: tuple[str, Path], emu: Emulator) -> None:
    origin, ca = https_emu
    with llmkit.Client(providers={"gigachat": _settings(origin, verify=str(ca))}) as c:
        resp = c.chat("gigachat/GigaChat-2", MSG)
    assert resp.text == "You said: Привет"
    assert [r.subpath for r in emu.requests] == ["/oauth", "/chat/completions"]


def test_the_ca_bundle_from_the_environment(
    https_emu: tuple[str, Path], monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> None:
    origin, ca = https_emu
    monkeypatch.setenv("GIGACHAT_CA_BUNDLE_FILE", str(ca))

    async def run() -> str:
        async with llmkit.AsyncClient(providers={"gigachat": _settings(origin)}) as c:
            stream = await c.chat("gigachat/GigaChat-2", MSG, stream=True)
            return "".join([t async for t in stream.text_stream])

    assert asyncio.run(run()) == "You said: Привет"
    assert [r.subpath for r in emu.requests] == ["/oauth", "/chat/completions"]


@pytest.mark.parametrize("off", [False, "false", "0"])
def test_verification_cannot_be_turned_off_quietly(https_emu: tuple[str, Path], off: object, emu: Emulator) -> None:
    origin, _ = https_emu
    with (
        llmkit.Client(providers={"gigachat": _settings(origin, verify=off)}) as c,
        pytest.raises(llmkit.ConfigError, match="verify=False is not accepted for 'gigachat'"),
    ):
        c.chat("gigachat/GigaChat-2", MSG)
    assert emu.requests == []


def test_a_missing_ca_bundle_is_a_config_error(https_emu: tuple[str, Path], tmp_path: Path) -> None:
    origin, _ = https_emu
    with (
        llmkit.Client(providers={"gigachat": _settings(origin, verify=str(tmp_path / "nope.pem"))}) as c,
        pytest.raises(llmkit.ConfigError, match="names a CA bundle that does not exist"),
    ):
        c.chat("gigachat/GigaChat-2", MSG)


def test_a_tls_failure_names_no_credential(https_emu: tuple[str, Path]) -> None:
    origin, _ = https_emu
    with (
        llmkit.Client(providers={"gigachat": _settings(origin)}) as c,
        pytest.raises(llmkit.AuthenticationError) as info,
    ):
        c.chat("gigachat/GigaChat-2", MSG)
    assert "Y2xpZW50OnNlY3JldA==" not in str(info.value) and info.value.__cause__ is None
