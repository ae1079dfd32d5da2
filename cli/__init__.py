"""vibehq's command line: a Typer app over the engines, one module per command group.

Deterministic commands import only `engine`; crewai, litellm, langchain and chromadb stay
out of this package's import path so `vibehq --help` starts in a fraction of a second.
"""
