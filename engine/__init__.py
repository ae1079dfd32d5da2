"""Deterministic core of vibehq: no model calls, and no crewai import anywhere.

Only these adapter modules touch the heavy libraries, inside the functions that need them
(`chroma_embedding` at its top, but it is itself imported only inside `chroma_store`'s
functions), so importing the engine never loads them:
- litellm: `engine.route.litellm_router` (the Router) and `engine.route.litellm_cost` (prices);
- langchain: `engine.memory.langchain_splitter` (langchain_text_splitters) and
  `engine.memory.langchain_embedder` (langchain_openai);
- chromadb: `engine.memory.chroma_store` and `engine.memory.chroma_embedding`.
`make lint` (import-linter) holds the engine to this list.
"""

from engine import offline_env as offline_env
