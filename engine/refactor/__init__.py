"""D1/SQLite-to-RPC refactor: deterministic recipes first, prompt templates for the long tail.

A migrated specialist worker may not keep its own database. Its SQL moves to an orchestrator
RPC entrypoint (one typed method per distinct operation) and the worker calls it through a
service binding. Recipes rewrite the shapes they can prove safe; everything else becomes a
`needs-model` work item with the exact context, never a guess."""
