"""Patch engine: every code change, from an agent, a recipe or a human, goes through here."""
