"""Model routing: complexity score -> tier -> LiteLLM model group, with a cost ledger and budget.

Scoring, tiers, the model chain and `route explain` are plain Python; only `router.py` imports
litellm, and only when a completion is asked for.
"""
