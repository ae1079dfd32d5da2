"""The task plan: a task-master `tasks.json` read, changed and kept true.

`document` reads and writes the file (tag-keyed or flat, byte-identical for what is untouched,
locked and atomic), `ops` holds the operations task-master offers plus epics and deprecation
(one module per idea: `queries`, `task_ops`, `move`, `dependency_ops`, `epic_ops`, over `graph`,
`models`, `fields` and `taskmaster`),
`change` is the one way to change the file (path, tag, lock timeout, history, actor),
`history` records every change in the ledger and replays it as task-master CLI lines,
`render` writes the plan as Markdown and `complexity` reads task-master's complexity report.
"""
