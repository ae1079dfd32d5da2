"""The dependency graph of a plan: every task and subtask that holds dependencies, each one
resolved to the ref it names; paths, issues (dangling, self, duplicate, cycle) and rewriting
references when ids move or tasks go.

Each operation builds it once, so none of them is quadratic in the size of the plan."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.plan.document import (
    DONE,
    PlanError,
    Ref,
    TaskIndex,
    TasksFile,
    encode_dependency,
    format_ref,
    resolve_dependency,
    stored_id,
)
from engine.plan.fields import item_status
from engine.plan.models import DependencyIssue, IssueKind

__all__ = [
    "Owner",
    "analyse_dependencies",
    "collect_owners",
    "cycle_text",
    "dependency_graph",
    "dependency_text",
    "deps_satisfied",
    "done_refs",
    "find_path",
    "rewrite_references",
    "task_family",
]


@dataclass
class Owner:
    """A task or subtask that holds dependencies, with each one resolved to what it names."""

    ref: Ref
    item: dict[str, Any]
    parent: int | None
    deps: list[Any]
    targets: list[Ref | None]


def collect_owners(tf: TasksFile) -> list[Owner]:
    owners: list[Owner] = []
    for task in tf.tasks:
        task_id = stored_id(task.get("id"))
        if task_id is None:
            raise PlanError(f"{tf.path}: task {task.get('id')!r} has no usable id")
        deps = list(task.get("dependencies") or ())
        targets = [resolve_dependency(d, None) for d in deps]
        owners.append(Owner((task_id, None), task, None, deps, targets))
        for sub in task.get("subtasks") or ():
            sub_id = stored_id(sub.get("id"))
            if sub_id is None:
                raise PlanError(f"{tf.path}: a subtask of task {task_id} has no usable id")
            deps = list(sub.get("dependencies") or ())
            targets = [resolve_dependency(d, task_id) for d in deps]
            owners.append(Owner((task_id, sub_id), sub, task_id, deps, targets))
    return owners


def dependency_graph(
    owners: Iterable[Owner], *, redirect: Iterable[Ref] = (), to: Ref | None = None
) -> dict[Ref, list[Ref]]:
    """Edges from each holder to what it depends on; with `redirect`, as they would be once the
    holders outside that set point at `to` instead of anything inside it."""
    moved = set(redirect)
    adj: dict[Ref, list[Ref]] = {}
    for owner in owners:
        targets = [t for t in owner.targets if t is not None]
        if moved and to is not None and owner.ref not in moved:
            targets = [to if t in moved else t for t in targets]
        adj[owner.ref] = targets
    return adj


def find_path(
    adj: Mapping[Ref, Sequence[Ref]], sources: Iterable[Ref], goal: Ref
) -> list[Ref] | None:
    """The shortest path from any of `sources` to `goal` (both ends included), or None."""
    prev: dict[Ref, Ref | None] = {}
    queue: deque[Ref] = deque()
    for source in sources:
        if source not in prev:
            prev[source] = None
            queue.append(source)
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            back = prev[node]
            while back is not None:
                path.append(back)
                back = prev[back]
            return path[::-1]
        for nxt in adj.get(node, ()):
            if nxt not in prev:
                prev[nxt] = node
                queue.append(nxt)
    return None


def analyse_dependencies(
    owners: list[Owner], index: TaskIndex
) -> tuple[list[DependencyIssue], dict[Ref, set[int]]]:
    """Every dependency issue, and which entries (by holder and position) a fix removes."""
    issues: list[DependencyIssue] = []
    drops: dict[Ref, set[int]] = {}
    edges: dict[Ref, list[tuple[Ref, int]]] = {}
    holder: dict[Ref, Owner] = {}

    def drop(
        owner: Owner, n: int, kind: IssueKind, message: str, cycle: list[str] | None = None
    ) -> None:
        issues.append(
            DependencyIssue(
                kind=kind,
                id=format_ref(owner.ref),
                dependency=dependency_text(owner.deps[n], owner.targets[n]),
                message=message,
                cycle=cycle or [],
            )
        )
        drops.setdefault(owner.ref, set()).add(n)

    for owner in owners:
        holder[owner.ref] = owner
        shown = format_ref(owner.ref)
        seen: set[Ref] = set()
        kept: list[tuple[Ref, int]] = []
        for n, (raw, target) in enumerate(zip(owner.deps, owner.targets, strict=True)):
            if target is None:
                drop(owner, n, "dangling", f"task {shown} depends on {raw!r}, which is not an id")
            elif target == owner.ref:
                drop(owner, n, "self", f"task {shown} depends on itself")
            elif target in seen:
                drop(owner, n, "duplicate", f"task {shown} lists {format_ref(target)} twice")
            elif target not in index:
                drop(owner, n, "dangling", _dangling_message(owner, raw, target, index))
            else:
                seen.add(target)
                kept.append((target, n))
        edges[owner.ref] = kept

    # Depth-first in file order; every edge back onto the current path closes a cycle, and
    # removing exactly those edges leaves a graph without cycles.
    state: dict[Ref, int] = {}
    for root in owners:
        if root.ref in state:
            continue
        state[root.ref] = 1
        path = [root.ref]
        on_path = {root.ref: 0}
        stack = [(root.ref, iter(edges[root.ref]))]
        while stack:
            node, pending = stack[-1]
            for target, n in pending:
                seen_state = state.get(target, 0)
                if seen_state == 0:
                    state[target] = 1
                    on_path[target] = len(path)
                    path.append(target)
                    stack.append((target, iter(edges.get(target, ()))))
                    break
                if seen_state == 1:
                    cycle = [format_ref(r) for r in (*path[on_path[target] :], target)]
                    drop(
                        holder[node],
                        n,
                        "cycle",
                        f"cycle {' -> '.join(cycle)}, closed by {format_ref(node)}'s "
                        f"dependency on {format_ref(target)}",
                        cycle,
                    )
            else:
                stack.pop()
                path.pop()
                del on_path[node]
                state[node] = 2
    return issues, drops


def _dangling_message(owner: Owner, raw: Any, target: Ref, index: TaskIndex) -> str:
    shown = format_ref(owner.ref)
    message = f"task {shown} depends on {format_ref(target)}, which does not exist"
    if owner.parent is not None and isinstance(raw, int) and (raw, None) in index:
        message += (
            f" (an integer in a subtask's dependencies names a sibling subtask; "
            f'write "{raw}" to depend on task {raw})'
        )
    return message


def rewrite_references(
    tf: TasksFile,
    owners: Iterable[Owner],
    mapping: Mapping[Ref, Ref | None],
    *,
    skip: set[Ref] | None = None,
    new_parent: Mapping[Ref, int | None] | None = None,
) -> list[str]:
    """Point every dependency found in `mapping` at its new ref (None: drop it), writing each in
    the form its holder needs, and return the holders whose list changed. Only those lists are
    assigned, so every other task keeps its bytes. A holder mapped onto itself loses that entry,
    and an entry that becomes a duplicate of another is dropped."""
    string_ids = tf.string_ids
    skip = skip or set()
    changed: list[str] = []
    for owner in owners:
        if owner.ref in skip:
            continue
        parent = new_parent.get(owner.ref, owner.parent) if new_parent else owner.parent
        self_ref = mapping.get(owner.ref, owner.ref) or owner.ref
        moved = parent != owner.parent
        if not moved and not any(t in mapping for t in owner.targets if t is not None):
            continue
        new_deps: list[Any] = []
        seen: set[Ref] = set()
        produced: set[Ref] = set()
        for raw, target in zip(owner.deps, owner.targets, strict=True):
            if target is None:
                new_deps.append(raw)
                continue
            mapped = mapping.get(target, target)
            if mapped is None or (mapped == self_ref and mapped != target):
                continue
            if mapped in seen and (mapped != target or mapped in produced):
                continue
            seen.add(mapped)
            if mapped != target:
                produced.add(mapped)
            if mapped == target and not moved:
                new_deps.append(raw)
            else:
                new_deps.append(encode_dependency(mapped, parent, raw, string_ids))
        if not _same_values(new_deps, owner.deps):
            owner.item["dependencies"] = new_deps
            changed.append(format_ref(self_ref))
    return changed


def _same_values(a: Sequence[Any], b: Sequence[Any]) -> bool:
    # 1 == "1" is False but 1 == 1.0 == True is True; compare types too so a form change counts.
    return len(a) == len(b) and all(
        type(x) is type(y) and x == y for x, y in zip(a, b, strict=True)
    )


def task_family(index: TaskIndex, ref: Ref) -> list[Ref]:
    if ref[1] is not None:
        return [ref]
    family = [ref]
    for sub in index.tasks[ref[0]].get("subtasks") or ():
        sub_id = stored_id(sub.get("id"))
        if sub_id is not None:
            family.append((ref[0], sub_id))
    return family


def done_refs(owners: Iterable[Owner]) -> set[Ref]:
    return {o.ref for o in owners if item_status(o.item) == DONE}


def deps_satisfied(owner: Owner, done: set[Ref]) -> bool:
    return all(t is not None and t in done for t in owner.targets)


def cycle_text(path: Sequence[Ref]) -> str:
    return " -> ".join(format_ref(r) for r in path)


def dependency_text(raw: Any, target: Ref | None) -> str:
    return format_ref(target) if target is not None else str(raw)
