"""Rewrite a worker's own SQL into calls on the orchestrator's RPC entrypoint.

Every change is a byte-range edit on the tree-sitter tree of the original file. The recipes
(`engine/refactor/recipes/`) choose and prove each site; this module groups the sites, reaches
the Env for each call, propagates async, and removes what the rewritten sites leave behind. A
class (or, for code outside classes, a file) is rewritten whole or not at all: when any of its
sites cannot be proven safe, all of them stay as they are and go to a model, so no class ends
up reading half of its data from a local database and half from the orchestrator.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from engine.migrate.models import SqlSite
from engine.migrate.sqlcallers import find_folder_sql_sites
from engine.patch.models import PatchBatch, PatchOperation
from engine.refactor.asyncflow import async_edits, await_edits, propagate
from engine.refactor.bindings import (
    add_env_binding,
    add_module_env,
    drop_unused_driver_imports,
    rpc_shape,
)
from engine.refactor.calls import enclosing_class, enclosing_function
from engine.refactor.edits import apply_edits
from engine.refactor.envreach import MODULE_ENV, env_expression, inject_env, module_env_blocker
from engine.refactor.handedin import handed_in_reason
from engine.refactor.methods import ddl_statements, dropped_pragmas, method_key, plan_methods
from engine.refactor.models import RpcMethod, RpcTarget, WorkItem
from engine.refactor.recipes import (
    REASON_PREPARED,
    Decline,
    Match,
    SiteContext,
    choose,
    preparing_recipe,
)
from engine.refactor.removals import group_removals
from engine.refactor.scan import FolderPlan, SiteWork, SourceFile, locate
from engine.refactor.usage import parameter_receiver
from engine.syntax.kinds import node_text
from engine.syntax.parse import parse
from engine.syntax.splice import ByteEdit

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = [
    "GROUP_REASON_PREFIX",
    "SiteDecision",
    "WorkerRefactor",
    "refactor_worker",
    "worker_batch",
]


class SiteDecision(BaseModel):
    site: SqlSite
    recipe: str | None = None
    method: str | None = None
    reason: str | None = None


class WorkerRefactor(BaseModel):
    methods: list[RpcMethod] = Field(default_factory=list)
    ddl: list[str] = Field(default_factory=list)
    dropped: list[str] = Field(default_factory=list)
    rewritten: dict[str, str] = Field(default_factory=dict)
    decisions: list[SiteDecision] = Field(default_factory=list)
    work_items: list[WorkItem] = Field(default_factory=list)


def _context(file: SourceFile, node: Node | None, site: SqlSite) -> str:
    function = enclosing_function(node) if node is not None else None
    start = function.start_point.row + 1 if function is not None else site.start_line
    end = function.end_point.row + 1 if function is not None else site.end_line
    lines = file.source.decode("utf-8", "replace").splitlines()
    first = max(1, start - 10)
    last = min(len(lines), end + 10)
    width = len(str(last))
    return "\n".join(f"{n:>{width}} | {lines[n - 1]}" for n in range(first, last + 1))


def _work_item(target: RpcTarget, item: SiteWork, methods: list[RpcMethod]) -> WorkItem:
    site = item.site
    context = _context(item.file, item.node, site)
    key = method_key(site)
    usable = [m.name for m in methods if key is not None and (m.sql, m.returns) == key]
    if not usable:
        usable = [
            m.name
            for m in methods
            if any(
                t in m.tables_read + m.tables_written
                for t in site.tables_read + site.tables_written
            )
        ]
    return WorkItem(
        id=f"{target.folder}:{site.file}:{site.start_line}",
        folder=target.folder,
        file=site.file,
        start_line=site.start_line,
        end_line=site.end_line,
        reason=item.reason or "no recipe applies",
        site=site,
        context=context,
        methods=usable,
    )


def refactor_worker(
    ws_root: Path, target: RpcTarget, files: Mapping[str, bytes], *, isolated: bool = False
) -> WorkerRefactor:
    """Plan and rewrite one worker folder's SQL sites into RPC calls on `target`.

    `files` maps workspace-relative paths to their bytes; `ws_root` only anchors error messages
    and is never read, so a dry run and the real run see exactly the same input. `isolated`
    says the folder is type-checked with its own tsconfig, outside the orchestrator's program:
    the binding is then typed by the RPC methods' shape, not by the entrypoint class.
    """
    del ws_root
    parsed: dict[str, SourceFile] = {}
    found = find_folder_sql_sites(files)
    for path in sorted(files):
        source = files[path]
        parsed[path] = SourceFile(path, source, parse(source, path).root_node, found[path])
    plan = FolderPlan(target, parsed)
    all_sites = [site for file in parsed.values() for site in file.sites]
    methods = plan_methods(all_sites)
    by_key = {(m.sql, m.returns): m for m in methods}

    items: list[SiteWork] = []
    for file in parsed.values():
        for site, node in zip(file.sites, locate(file), strict=True):
            cls = enclosing_class(node) if node is not None else None
            group = (file.path, cls.start_byte if cls is not None else -1)
            item = SiteWork(site, file, node, group)
            chosen = choose(site)
            item.recipe = chosen.recipe if isinstance(chosen, Match) else None
            item.reason = chosen.reason if isinstance(chosen, Decline) else None
            key = method_key(site)
            item.method = by_key.get(key) if key is not None else None
            items.append(item)

    groups: dict[tuple[str, int], list[SiteWork]] = defaultdict(list)
    for item in items:
        groups[item.group].append(item)

    for group_key in sorted(groups):
        _plan_group(plan, groups[group_key])

    texts = {path: file.source for path, file in parsed.items()}
    rewritten_paths = sorted(path for path, edits in plan.edits.items() if edits)
    for path in rewritten_paths:
        updated = apply_edits(texts[path], plan.edits[path])
        texts[path] = drop_unused_driver_imports(updated, path)
    shape = rpc_shape(methods) if isolated else None
    if plan.worker_env:
        add_env_binding(texts, target, rewritten_paths, shape)
    if plan.module_env:
        add_module_env(texts, target, plan.module_env, shape)

    decisions = [
        SiteDecision(
            site=item.site,
            recipe=item.recipe.name if item.recipe is not None and item.reason is None else None,
            method=item.method.name if item.method is not None and item.reason is None else None,
            reason=item.reason,
        )
        for item in items
    ]
    needs_model = [item for item in items if item.reason is not None]
    moved = [
        item.site
        for item in items
        if item.reason is None and item.recipe is not None and item.recipe.moves_out
    ]
    return WorkerRefactor(
        methods=methods,
        # Only what a recipe moved out: a schema statement held for a model stays in the
        # worker, and its text (a reset's DROP TABLE, say) must not reach a migration.
        ddl=ddl_statements(moved),
        dropped=dropped_pragmas(moved),
        rewritten={
            path: text.decode("utf-8")
            for path, text in sorted(texts.items())
            if files.get(path) != text
        },
        decisions=decisions,
        work_items=[_work_item(target, item, methods) for item in needs_model],
    )


def _plan_group(plan: FolderPlan, items: list[SiteWork]) -> None:
    """Rewrite what the recipes can prove in the group, and say why for each site left.

    Sites that share state which must move together stay together: a database or statement
    the class opens or prepares itself (the group is then rewritten whole or not at all), and
    a schema statement whose table a site left to a model still uses."""
    if any(i.reason == REASON_PREPARED for i in items):
        _plan_whole_group(plan, items)
        return
    pending = [i for i in items if i.reason is None]
    while pending:
        _hold_schema(items, pending)
        pending = [i for i in pending if i.reason is None]
        if not pending:
            return
        injected = set(plan.injected)
        module_env, worker_env = set(plan.module_env), plan.worker_env
        outcome = _group_edits(plan, pending)
        if isinstance(outcome, dict):
            for path, edits in outcome.items():
                plan.edits[path].extend(edits)
            return
        plan.injected = injected
        plan.module_env, plan.worker_env = module_env, worker_env
        pending = [i for i in pending if i is not outcome]


def _hold_schema(items: list[SiteWork], pending: list[SiteWork]) -> None:
    """Keep a schema statement in the worker while a site left to a model uses its table."""
    left = [i for i in items if i not in pending]
    for item in pending:
        if item.recipe is None or not item.recipe.moves_out or item.site.kind != "ddl":
            continue
        tables = {t.lower() for t in item.site.tables_written + item.site.tables_read}
        user = next(
            (
                other
                for other in left
                if not tables
                or tables & {t.lower() for t in other.site.tables_read + other.site.tables_written}
            ),
            None,
        )
        if user is not None:
            item.reason = (
                f"{GROUP_REASON_PREFIX}{user.site.start_line} still uses this table and needs a "
                f"model ({user.reason}), so the schema stays with it"
            )


def _plan_whole_group(plan: FolderPlan, items: list[SiteWork]) -> None:
    """Rewrite the whole group, or leave all of it and say why for each site."""
    blocker = next((i for i in items if i.reason not in (None, REASON_PREPARED)), None)
    if blocker is None:
        injected = set(plan.injected)
        module_env, worker_env = set(plan.module_env), plan.worker_env
        outcome = _group_edits(plan, items)
        if isinstance(outcome, dict):
            for item in items:
                if item.reason == REASON_PREPARED:
                    item.reason = None
                    item.recipe = preparing_recipe(item.site)
            for path, edits in outcome.items():
                plan.edits[path].extend(edits)
            return
        plan.injected = injected
        plan.module_env, plan.worker_env = module_env, worker_env
        blocker = outcome
    scope = _scope(items)
    for item in items:
        if item is not blocker:
            item.reason = (
                f"{GROUP_REASON_PREFIX}{blocker.site.start_line} of the same {scope} needs a model "
                f"({blocker.reason}), and a {scope} is rewritten whole or not at all"
            )


# The reason of a site that only waits on another site of its class or file.
GROUP_REASON_PREFIX = "line "


def _scope(items: list[SiteWork]) -> str:
    name = items[0].site.class_name
    return f"class {name}" if name and items[0].group[1] >= 0 else "file"


def _group_edits(plan: FolderPlan, items: list[SiteWork]) -> dict[str, list[ByteEdit]] | SiteWork:
    """The edits of every file the group touches, or the site that stops the group."""
    binding = plan.target.binding
    edits: list[ByteEdit] = []
    by_file: dict[str, list[ByteEdit]] = defaultdict(list)

    def stop(item: SiteWork, reason: str) -> SiteWork:
        item.reason = reason
        return item

    for item in items:
        recipe = item.recipe
        if recipe is None or recipe.moves_out:
            continue
        if item.node is None or item.method is None:
            return stop(item, "the site could not be located in the syntax tree")
        proof = recipe.matches(item.site, SiteContext(item.node, item.method))
        if isinstance(proof, Decline):
            return stop(item, proof.reason)
        handed_in = parameter_receiver(item.node)
        env = None if handed_in is not None else env_expression(item.node)
        if handed_in is not None:
            why = handed_in_reason(plan, item.file.path, item.node, handed_in)
            if why is None:
                why = module_env_blocker(item.file)
            if why is not None:
                return stop(item, why)
            plan.module_env.add(item.file.path)
            env = MODULE_ENV
        elif env is None:
            env_or_reason = inject_env(plan, item, by_file)
            if env_or_reason.startswith("!"):
                blocked = module_env_blocker(item.file)
                if blocked is not None:
                    return stop(item, f"{env_or_reason[1:]}, and {blocked}")
                plan.module_env.add(item.file.path)
                env = MODULE_ENV
            else:
                env = env_or_reason
                plan.worker_env = True
        else:
            plan.worker_env = True
        arguments = ", ".join(node_text(a) for a in proof.args)
        invocation = f"{env}.{binding}.{item.method.name}({arguments})"
        edits.append(recipe.rewrite(item.node, item.method, invocation))
        if recipe.was_sync:
            flow = propagate(plan, item.file.path, item.node)
            if flow.reason is not None:
                return stop(item, flow.reason)
            for path, function in flow.functions.values():
                by_file[path].extend(async_edits(function))
            for path, call in flow.awaits.values():
                by_file[path].extend(await_edits(call))
    removals = group_removals(plan, items)
    if isinstance(removals, str):
        culprit = next((i for i in items if i.reason == REASON_PREPARED), items[0])
        return stop(culprit, removals)
    by_file[items[0].file.path].extend(edits + removals)
    return dict(by_file)


def worker_batch(
    result: WorkerRefactor, *, requester: str = "codex-recipes", task_id: str | int | None = None
) -> PatchBatch | None:
    """One `create` (overwrite) per rewritten file, for the patch engine to journal and
    validate; None when nothing changed."""
    if not result.rewritten:
        return None
    digest = hashlib.sha256(
        "\n".join(f"{path}\0{text}" for path, text in sorted(result.rewritten.items())).encode()
    ).hexdigest()[:16]
    return PatchBatch(
        batch_id=f"rpc-refactor-{digest}",
        requester=requester,
        reason=f"D1/SQLite-to-RPC: {len(result.rewritten)} file(s) rewritten by recipes",
        task_id=task_id,
        patches=[
            PatchOperation(op="create", file=path, block=text, overwrite=True, task_id=task_id)
            for path, text in sorted(result.rewritten.items())
        ],
    )
