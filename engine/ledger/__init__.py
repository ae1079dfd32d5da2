"""SQLite event store (`.vibehq/ledger.sqlite`, WAL): patch events and, later, approvals,
model calls, quarantine and migration runs. Reports are queries on it."""
