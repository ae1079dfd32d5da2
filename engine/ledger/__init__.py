"""SQLite event store (`.vibehq/ledger.sqlite`, WAL): the connection, the per-table schema
migrations (`schema.py`) and the generic `events` log. The other tables (patch events,
approvals, model calls, quarantine, specialist queue, epic runs) belong to the engine packages
that declare them, and every query on a table lives in its owner."""
