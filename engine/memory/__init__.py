"""Project memory: an offline embedder, chromadb collections, ingestion and seeding."""
