"""The one place llmkit's version is written: pyproject.toml and `llmkit.__version__` read it."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
