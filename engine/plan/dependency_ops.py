"""Adding, removing and repairing dependencies, refusing any that would close a cycle."""

from __future__ import annotations

from engine.plan.document import (
    PlanError,
    TasksFile,
    encode_dependency,
    format_ref,
    index_tasks,
    parse_id,
    resolve_dependency,
)
from engine.plan.graph import (
    analyse_dependencies,
    collect_owners,
    cycle_text,
    dependency_graph,
    find_path,
)
from engine.plan.models import PlanChange
from engine.plan.taskmaster import taskmaster_command

__all__ = ["add_dependency", "fix_dependencies", "remove_dependency"]

_ISSUE_KINDS = ("dangling", "self", "duplicate", "cycle")


def add_dependency(tf: TasksFile, id: str, depends_on: str) -> PlanChange:
    ref, dep = parse_id(id), parse_id(depends_on)
    index = index_tasks(tf)
    item = index.require(ref)
    index.require(dep)
    shown, dep_shown = format_ref(ref), format_ref(dep)
    if ref == dep:
        raise PlanError(f"task {shown} cannot depend on itself")
    if ref[1] is not None and dep == (ref[0], None):
        raise PlanError(f"subtask {shown} cannot depend on its own parent task {dep_shown}")
    parent = ref[0] if ref[1] is not None else None
    deps = item.get("dependencies") or []
    if any(resolve_dependency(d, parent) == dep for d in deps):
        raise PlanError(f"task {shown} already depends on {dep_shown}")
    path = find_path(dependency_graph(collect_owners(tf)), [dep], ref)
    if path is not None:
        raise PlanError(
            f"task {shown} cannot depend on {dep_shown}: that would close the cycle "
            f"{cycle_text([ref, *path])}"
        )
    value = encode_dependency(dep, parent, None, tf.string_ids)
    if "dependencies" in item and isinstance(item["dependencies"], list):
        item["dependencies"].append(value)
    else:
        item["dependencies"] = [value]
    return PlanChange(
        op="add_dependency",
        ids=[shown],
        summary=f"task {shown} now depends on {dep_shown}",
        fields={"dependsOn": dep_shown},
        commands=[
            taskmaster_command(tf, "add-dependency", ("id", shown), ("depends-on", dep_shown))
        ],
    )


def remove_dependency(tf: TasksFile, id: str, depends_on: str) -> PlanChange:
    ref, dep = parse_id(id), parse_id(depends_on)
    item = index_tasks(tf).require(ref)
    shown, dep_shown = format_ref(ref), format_ref(dep)
    parent = ref[0] if ref[1] is not None else None
    deps = item.get("dependencies") or []
    kept = [d for d in deps if resolve_dependency(d, parent) != dep]
    if len(kept) == len(deps):
        raise PlanError(f"task {shown} does not depend on {dep_shown}")
    item["dependencies"] = kept
    return PlanChange(
        op="remove_dependency",
        ids=[shown],
        summary=f"task {shown} no longer depends on {dep_shown}",
        fields={"dependsOn": dep_shown},
        commands=[
            taskmaster_command(tf, "remove-dependency", ("id", shown), ("depends-on", dep_shown))
        ],
    )


def fix_dependencies(tf: TasksFile) -> PlanChange:
    """Remove dangling, self and duplicate references, then break each cycle by removing the
    reference that closes it."""
    owners = collect_owners(tf)
    issues, drops = analyse_dependencies(owners, index_tasks(tf))
    changed: list[str] = []
    for owner in owners:
        dropped = drops.get(owner.ref)
        if dropped:
            owner.item["dependencies"] = [d for n, d in enumerate(owner.deps) if n not in dropped]
            changed.append(format_ref(owner.ref))
    counts = {kind: sum(1 for i in issues if i.kind == kind) for kind in _ISSUE_KINDS}
    summary = (
        "no dependency issues"
        if not issues
        else f"removed {len(issues)} dependency reference(s): "
        + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    )
    return PlanChange(
        op="fix_dependencies",
        ids=changed,
        summary=summary,
        fields={"removed": [issue.model_dump() for issue in issues]},
        commands=[taskmaster_command(tf, "fix-dependencies")],
    )
