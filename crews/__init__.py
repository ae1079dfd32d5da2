"""Flows and crews: the epic flow, the hierarchical crew, chat. Above agents/ and tools/."""
