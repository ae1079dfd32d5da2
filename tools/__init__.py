"""CrewAI tools: each one a thin, typed wrapper around one engine call. Above engine/."""
