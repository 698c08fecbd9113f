"""Images through the unified `embed`: Jina CLIP v2 / embeddings v4 (`{"text"}` / `{"image"}`
inputs) and Voyage multimodal (`/multimodalembeddings`, content pieces), on the wire; text-only
models refuse images before any request; the emulators are as strict as the providers."""

from __future__ import annotations

import asyncio
import base64
import struct
from typing import Any

import pytest

import llmkit
from llmkit import ImagePart
from llmkit._errors import BadRequestError, ConfigError, UnsupportedFeatureError
from llmkit.testing import Emulator
from llmkit.testing._jina_emu import embedding_vector as jina_vector
from llmkit.testing._voyage_emu import embedding_vector as voyage_vector

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PNG_B64 = base64.b64encode(PNG).decode()
CAT = "https://example.com/cat.jpg"


def test_jina_clip_text_and_images_one_request(emu: Emulator, client: llmkit.Client) -> None:
    inputs = ["a photo of a cat", ImagePart(url=CAT), ImagePart(data=PNG, media_type="image/png")]
    resp = client.embed("jina/jina-clip-v2", inputs, input_type="query", dimensions=512)
    req = emu.last_request
    assert (req.method, req.path, req.headers["authorization"]) == ("POST", "/jina/v1/embeddings", "Bearer test-key")
    assert req.json() == {
        "model": "jina-clip-v2",
        "input": [{"text": "a photo of a cat"}, {"image": CAT}, {"image": PNG_B64}],  # bytes as bare base64
        "task": "retrieval.query",
        "dimensions": 512,
    }
    keys = ["a photo of a cat", "\0image:" + CAT, "\0image:" + PNG_B64]
    assert resp.vectors == [jina_vector(k, "retrieval.query", 512) for k in keys]
    assert resp.usage.input_tokens == 5 + 2 * 1000 and resp.provider == "jina"


def test_jina_clip_documents_get_no_task_and_v4_takes_dict_images(emu: Emulator, client: llmkit.Client) -> None:
    one = client.embed("jina/jina-clip-v2", ImagePart(url=CAT), input_type="document")  # a single image
    assert emu.last_request.json() == {"model": "jina-clip-v2", "input": [{"image": CAT}]}
    assert len(one.vectors) == 1
    data_url = f"data:image/png;base64,{PNG_B64}"
    resp = client.embed(
        "jina/jina-embeddings-v4",
        [{"type": "image_url", "image_url": {"url": data_url}}, {"type": "text", "text": "a red pixel"}],
        input_type="document",
    )
    assert emu.last_request.json() == {
        "model": "jina-embeddings-v4",
        "input": [{"image": PNG_B64}, {"text": "a red pixel"}],  # the data: prefix is stripped
        "task": "retrieval.passage",
    }
    assert len(resp.vectors) == 2 and len(resp.vectors[0]) == 2048


def test_images_for_text_only_models_raise_before_any_request(emu: Emulator, client: llmkit.Client) -> None:
    for model in ("jina/jina-embeddings-v3", "voyage/voyage-3.5", "openai/text-embedding-3-small", "cohere/embed-v4.0"):
        with pytest.raises(UnsupportedFeatureError, match="embeds text only") as exc:
            client.embed(model, ["text", ImagePart(url=CAT)])
        assert exc.value.code == "embeddings_images"
    with pytest.raises(UnsupportedFeatureError, match="a list of parts needs a multimodal"):
        client.embed("voyage/voyage-3.5", [["two", "texts"]])
    with pytest.raises(UnsupportedFeatureError, match="inputs combining several parts"):
        client.embed("jina/jina-clip-v2", [["a caption", ImagePart(url=CAT)]])
    with pytest.raises(ConfigError, match=r"inputs\[1\] must be a string, an llmkit.ImagePart"):
        client.embed("jina/jina-clip-v2", ["ok", 42])
    assert emu.requests == []


def test_jina_emulator_is_strict_about_images(emu: Emulator, client: llmkit.Client) -> None:
    jina = client.native("jina")
    with pytest.raises(BadRequestError, match="does not accept image input") as exc:
        jina.create_embedding({"model": "jina-embeddings-v3", "input": [{"image": CAT}]})
    assert exc.value.status == 422 and exc.value.body["errors"][0]["field"] == "input"
    with pytest.raises(BadRequestError, match="without a data: prefix"):
        jina.create_embedding({"model": "jina-clip-v2", "input": [{"image": "data:image/png;base64," + PNG_B64}]})
    with pytest.raises(BadRequestError, match="neither a URL nor valid base64"):
        jina.create_embedding({"model": "jina-clip-v2", "input": [{"image": "not base64!"}]})
    with pytest.raises(BadRequestError, match="only supports task 'retrieval.query'"):
        jina.create_embedding({"model": "jina-clip-v2", "input": ["x"], "task": "retrieval.passage"})
    with pytest.raises(BadRequestError, match="exactly one of `text` or `image`"):
        jina.create_embedding({"model": "jina-clip-v2", "input": [{"text": "a", "image": CAT}]})
    ok = jina.create_embedding({"model": "jina-clip-v2", "input": [{"image": PNG_B64}, {"text": "pixel"}]})
    assert [d.index for d in ok.data] == [0, 1]


def test_voyage_multimodal_interleaved_inputs(emu: Emulator, client: llmkit.Client) -> None:
    inputs: list[Any] = [["Quarterly sales chart", ImagePart(data=PNG, media_type="image/png")], "plain text"]
    resp = client.embed("voyage/voyage-multimodal-3", inputs, input_type="document")
    req = emu.last_request
    assert (req.method, req.path, req.headers["authorization"]) == (
        "POST",
        "/voyage/v1/multimodalembeddings",
        "Bearer test-key",
    )
    data_url = f"data:image/png;base64,{PNG_B64}"
    assert req.json() == {
        "inputs": [
            {
                "content": [
                    {"type": "text", "text": "Quarterly sales chart"},
                    {"type": "image_base64", "image_base64": data_url},
                ]
            },
            {"content": [{"type": "text", "text": "plain text"}]},
        ],
        "model": "voyage-multimodal-3",
        "input_type": "document",
    }
    assert resp.vectors == [
        voyage_vector(f"text:Quarterly sales chart\nimage_base64:{data_url}", "document", 1024),
        voyage_vector("text:plain text", "document", 1024),
    ]
    assert resp.usage.input_tokens == resp.raw[0]["usage"]["total_tokens"]
    assert resp.raw[0]["usage"]["image_pixels"] == 1  # the 1x1 PNG, counted from its header
    assert resp.cost_usd is None  # billed per token and per pixel: no per-token price in the catalog


def test_voyage_multimodal_model_takes_text_only_on_its_own_endpoint(emu: Emulator, client: llmkit.Client) -> None:
    client.embed("voyage/voyage-multimodal-3", ["just words"], input_type="query")
    assert emu.last_request.subpath == "/multimodalembeddings"
    assert emu.last_request.json() == {
        "inputs": [{"content": [{"type": "text", "text": "just words"}]}],
        "model": "voyage-multimodal-3",
        "input_type": "query",
    }
    client.embed("voyage/voyage-multimodal-3", [ImagePart(url=CAT)])
    assert emu.last_request.json()["inputs"] == [{"content": [{"type": "image_url", "image_url": CAT}]}]


def test_voyage_multimodal_refusals_before_any_request(emu: Emulator, client: llmkit.Client) -> None:
    mixed = [ImagePart(url=CAT), ImagePart(data=PNG, media_type="image/png")]
    with pytest.raises(ConfigError, match="not both"):
        client.embed("voyage/voyage-multimodal-3", mixed)
    with pytest.raises(UnsupportedFeatureError, match="dimensions"):
        client.embed("voyage/voyage-multimodal-3", ["a"], dimensions=256)
    with pytest.raises(ConfigError, match="not image/bmp"):
        client.embed("voyage/voyage-multimodal-3", [ImagePart(data=b"BM..", media_type="image/bmp")])
    assert emu.requests == []


def test_voyage_emulator_is_strict(emu: Emulator, client: llmkit.Client) -> None:
    voyage = client.native("voyage")
    with pytest.raises(BadRequestError, match="only served on /multimodalembeddings"):
        voyage.create_embedding({"input": ["a"], "model": "voyage-multimodal-3"})
    with pytest.raises(BadRequestError, match="not supported"):
        voyage.create_multimodal_embedding(
            {"inputs": [{"content": [{"type": "text", "text": "a"}]}], "model": "voyage-3.5"}
        )
    bad = {"type": "image_base64", "image_base64": "data:image/png;base64,@@@"}
    with pytest.raises(BadRequestError, match="not a base64 PNG"):
        voyage.create_multimodal_embedding({"inputs": [{"content": [bad]}], "model": "voyage-multimodal-3"})
    with pytest.raises(BadRequestError, match="needs exactly `text`"):
        voyage.create_multimodal_embedding(
            {"inputs": [{"content": [{"type": "text", "image_url": CAT}]}], "model": "voyage-multimodal-3"}
        )
    pieces = [
        {"type": "image_url", "image_url": CAT},
        {"type": "image_base64", "image_base64": "data:image/png;base64," + PNG_B64},
    ]
    with pytest.raises(BadRequestError, match="cannot mix"):
        voyage.create_multimodal_embedding({"inputs": [{"content": pieces}], "model": "voyage-multimodal-3"})
    huge = PNG[:16] + struct.pack(">II", 5000, 4000) + PNG[24:]  # a PNG header claiming 20M pixels
    huge_piece = {"type": "image_base64", "image_base64": "data:image/png;base64," + base64.b64encode(huge).decode()}
    with pytest.raises(BadRequestError, match="at most 16M pixels"):
        voyage.create_multimodal_embedding({"inputs": [{"content": [huge_piece]}], "model": "voyage-multimodal-3"})
    ok = voyage.create_multimodal_embedding(
        {"inputs": [{"content": [{"type": "image_url", "image_url": CAT}]}], "model": "voyage-multimodal-3"}
    )
    assert ok.usage is not None and ok.usage.image_pixels == 1024 * 1024 and ok.usage.total_tokens == 1024 * 1024 // 560


def test_async_multimodal_embed(emu: Emulator) -> None:
    async def run() -> Any:
        async with emu.async_client() as ac:
            return await ac.embed("jina/jina-clip-v2", [ImagePart(url=CAT), "a cat"])

    resp = asyncio.run(run())
    assert emu.last_request.json() == {"model": "jina-clip-v2", "input": [{"image": CAT}, {"text": "a cat"}]}
    assert resp.vectors[1] == jina_vector("a cat", None, 1024)


def test_jina_base64_vectors_and_normalized_pass_through_extra_body(emu: Emulator, client: llmkit.Client) -> None:
    resp = client.embed(
        "jina/jina-clip-v2", [ImagePart(url=CAT)], extra_body={"embedding_type": "base64", "normalized": True}
    )
    assert emu.last_request.json() == {
        "model": "jina-clip-v2",
        "input": [{"image": CAT}],
        "embedding_type": "base64",
        "normalized": True,
    }
    assert isinstance(resp.raw[0]["data"][0]["embedding"], str)  # sent as base64 float32, decoded by llmkit
    assert resp.vectors[0] == pytest.approx(jina_vector("\0image:" + CAT, None, 1024), rel=1e-6)
