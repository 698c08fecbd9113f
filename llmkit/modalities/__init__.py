"""Modality adapters: embeddings, rerank, speech-to-text, text-to-speech and images, one
module per provider family, chosen by a spec's dialect and imported on first use."""

__all__: list[str] = []
