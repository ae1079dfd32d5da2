"""Deterministic core of vibehq: no model calls, no crewai/litellm/langchain/chromadb imports."""

from engine import offline_env as offline_env
