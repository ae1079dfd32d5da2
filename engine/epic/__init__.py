"""The migration epic's deterministic spine: spec, per-folder steps, run state in the ledger,
and the delivery report. `crews/epic_flow.py` drives these steps as a CrewAI Flow and adds the
crew for the work no recipe can do; nothing here imports crewai."""
