#!/usr/bin/env bash
# A tour of the engines one command at a time (`make tour`), on a fresh copy of
# examples/workspace in .tour/workspace: preview, validate
# and apply PatchBatches, refuse one that breaks types, report, roll back; then plan, apply
# and roll back the pilot migration, batch-migrate every STAGING folder, refactor their SQL
# into orchestrator RPC calls, and keep the task plan true.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=.tour/workspace
vibehq=.venv/bin/vibehq
rm -rf .tour
mkdir -p "$demo"
tar -C examples/workspace --exclude=node_modules -cf - . | tar -C "$demo" -xf -
ln -s "$PWD/examples/workspace/node_modules" "$demo/node_modules"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Preview the seed-format batch (line numbers, as the seed's patch manager wrote them)"
$vibehq patch apply examples/batches/01-seed-format.json -w "$demo" --dry-run

step "2. Apply it: one project-wide tsc run on a staging copy first, then one atomic commit"
$vibehq patch apply examples/batches/01-seed-format.json -w "$demo" --validate

step "3. Preview and apply the anchored batch (marker, exact match, regex, create from blockFile)"
$vibehq patch apply examples/batches/02-anchors.json -w "$demo" --dry-run
$vibehq patch apply examples/batches/02-anchors.json -w "$demo" --validate

step "4. A batch that breaks types is refused (exit 1) and nothing is written"
if $vibehq patch apply examples/batches/03-breaks-types.json -w "$demo" --validate; then
  echo "unexpected: the type-breaking batch was applied" >&2
  exit 1
else
  echo "refused as expected (exit $?)"
fi

step "4b. A lazy model answer (\"// ... existing code ...\") is refused and its agent quarantined"
if $vibehq patch apply examples/batches/04-lazy-placeholder.json -w "$demo"; then
  echo "unexpected: the lazy batch was applied" >&2
  exit 1
fi
$vibehq agents list -w "$demo"
$vibehq agents release codex --reason "demo: reviewed the refused batch" --approver demo -w "$demo"

step "4c. Record the type-check baseline; later checks report only what a change introduces"
$vibehq validate --baseline -w "$demo"

step "5. The ledger: patch stats and the latest events"
$vibehq report patches stats -w "$demo"
$vibehq report patches logs -w "$demo" --limit 8

step "6. Roll back the anchored batch, byte for byte"
anchored=$($vibehq patch list -w "$demo" --json | .venv/bin/python -c \
  'import json,sys; print([r["batch_id"] for r in json.load(sys.stdin) if r["state"]=="committed"][-1])')
$vibehq patch rollback "$anchored" -w "$demo"
$vibehq patch list -w "$demo"

step "7. The rolled-back tree still type-checks"
(cd "$demo" && ./node_modules/.bin/tsc --noEmit -p tsconfig.json && echo "tsc: no errors")

step "8. Plan the pilot migration (manifests/pilot-sqlite-demo.yaml): files, import rewrites, SQL sites"
$vibehq migrate plan manifests/pilot-sqlite-demo.yaml -w "$demo"

step "9. Apply it (one atomic batch per folder), then again: the second run writes nothing"
$vibehq migrate apply manifests/pilot-sqlite-demo.yaml -w "$demo"
$vibehq migrate apply manifests/pilot-sqlite-demo.yaml -w "$demo"

step "10. Roll the pilot back, byte for byte"
$vibehq migrate rollback --last -w "$demo"

step "11. Batch run over every STAGING folder, two worker processes, with reports"
$vibehq batch examples/STAGING --manifest manifests/staging-template.yaml --workers 2 -w "$demo"

step "11b. D1-to-RPC: recipes move the SQL of four workers behind orchestrator RPC (tsc-checked)"
# The migrated tree is the "before": only errors a refactor introduces may fail it.
$vibehq validate --baseline -w "$demo"
for folder in d1-notes logger task-queue terminal-demo; do
  $vibehq refactor apply "apps/$folder" -w "$demo"
done

step "11c. Shapes no recipe can prove safe become needs-model work items, with their reasons"
$vibehq refactor apply apps/unsafe-cases -w "$demo"

step "12. The task plan: apply the Option 2 update to the real 35-task plan, then emit it"
mkdir -p "$demo/.taskmaster/tasks"
cp tests/fixtures/taskmaster/tasks.before-option2.json "$demo/.taskmaster/tasks/tasks.json"
tasks() { $vibehq tasks "$@" -w "$demo" --actor auto; }
tasks merge 9,10,11 --title "Epic: Implement Core Analytics API"
tasks merge 12,13,14,15 --title "Epic: Implement Ops & Integrations API"
tasks add --title "Epic: Implement Option 2 Migration Automation" --priority high \
  --dependencies 1,3,19,21 --description "Create a new manifest-driven Python script \
(migrate_staging.py) that automates file copying and import-path fixing, triggers the \
standardized AI refactoring (D1-to-RPC) by calling the AIProviderOps RPC entrypoint \
(Task 19/21), and runs automated validation (tsc and lint) upon completion."
epic=$($vibehq tasks list -w "$demo" --json | .venv/bin/python -c \
  'import json,sys; print(max(int(t["id"]) for t in json.load(sys.stdin)))')
tasks deprecate 34 --into "$epic"
tasks update 24 --description "A goal of the 'Implement Option 2' epic: the migration script \
points factories at @shared/contracts."
tasks dep add 24 "$epic"
tasks update 25 --description \
  "This task is now the primary goal of the 'Implement Option 2' automation script."
tasks dep add 25 "$epic"
$vibehq tasks deps validate -w "$demo"
$vibehq tasks next -w "$demo"
echo "-- the equivalent task-master commands:"
$vibehq tasks emit-commands -w "$demo"
$vibehq tasks render --markdown "$demo/PLAN.md" -w "$demo"

printf '\nDemo workspace left in %s (ledger: %s/.vibehq/ledger.sqlite)\n' "$demo" "$demo"
