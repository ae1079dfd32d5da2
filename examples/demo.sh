#!/usr/bin/env bash
# The main job on the bundled example: the Option 2 migration epic, end to end, on a fresh copy
# of examples/workspace (in .demo/workspace) and the real 35-task plan.
#
#   vibehq epic run manifests/demo-epic.yaml --auto-approve safe
#
# With no model configured it runs every deterministic step, pauses on what a human or a model
# must decide, and says so. The demo then plays the human: it approves the folder changes the
# policy keeps for people (they touch orchestrator/**), resumes, and checks the result with the
# real tsc. `make tour` walks through the engines one command at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

demo=.demo/workspace
vibehq=.venv/bin/vibehq
py=.venv/bin/python
rm -rf .demo
mkdir -p "$demo"
tar -C examples/workspace --exclude=node_modules -cf - . | tar -C "$demo" -xf -
ln -s "$PWD/examples/workspace/node_modules" "$demo/node_modules"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# `epic run` and `epic resume` exit 3 when the run pauses on approvals: expected here.
paused_ok() { "$@" || { code=$?; [ "$code" -eq 3 ] || exit "$code"; echo "(paused: exit 3)"; }; }

step "1. The plan: the real 35-task tasks.json, with the Option 2 update's migration epic"
mkdir -p "$demo/.taskmaster/tasks"
cp tests/fixtures/taskmaster/tasks.before-option2.json "$demo/.taskmaster/tasks/tasks.json"
$vibehq tasks add -w "$demo" --actor auto --priority high --dependencies 1,3 \
  --title "Epic: Implement Option 2 Migration Automation" \
  --description "Move every STAGING worker into apps/ with its imports fixed and its SQL behind \
orchestrator RPC, validated with tsc, approved, and tracked here folder by folder."
epic=$($vibehq tasks list -w "$demo" --json | $py -c \
  'import json,sys; print(max(int(t["id"]) for t in json.load(sys.stdin)))')
echo "epic task: $epic"

step "2. Run the epic: plan, migrate, refactor, gate (real tsc), approve, apply, tasks.json, report"
paused_ok $vibehq epic run manifests/demo-epic.yaml -w "$demo" --auto-approve safe --epic "$epic"
run=$($vibehq epic status -w "$demo" --json | $py -c 'import json,sys; print(json.load(sys.stdin)[0]["run_id"])')

step "3. What waits: folder changes touching orchestrator/** (a human's call), needs-model sites"
$vibehq approvals list -w "$demo" --state pending

step "4. The human: review and approve the four folder changes"
for id in $($vibehq approvals list -w "$demo" --state pending --kind patch_batch --json | $py -c \
  'import json,sys; print(" ".join(str(i["id"]) for i in json.load(sys.stdin)))'); do
  $vibehq approvals approve "$id" -w "$demo" --approver demo-reviewer --reason "diff reviewed in the demo"
done

step "5. Resume: approved folders are applied in order, each as one atomic batch"
paused_ok $vibehq epic resume "$run" -w "$demo"

step "6. Check: the whole tree type-checks with the real tsc, and the plan says where each folder is"
(cd "$demo" && ./node_modules/.bin/tsc --noEmit -p tsconfig.json && echo "tsc: no errors")
$vibehq tasks show "$epic" -w "$demo"
$vibehq epic status "$run" -w "$demo"

report="$demo/.vibehq/runs/$run"
printf '\nDelivery report: %s/delivery-report.{md,json,html}\n' "$report"
ls "$report"/delivery-report.* >/dev/null
printf 'Demo workspace left in %s (ledger: %s/.vibehq/ledger.sqlite)\n' "$demo" "$demo"
