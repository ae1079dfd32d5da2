"""Deterministic core of vibehq: no model calls, no crewai/litellm/langchain/chromadb imports."""
