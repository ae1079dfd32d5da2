import { BaseWorkerEntrypoint } from "@shared/base/BaseWorkerEntrypoint";
import type { ApplyPatchesResult, PatchBatch, PatchEvent } from "@shared/contracts";
import type { Env, PatchEventRow } from "../types";

const MAX_PATCHES_PER_BATCH = 200;

/**
 * RPC entrypoint behind the ORCHESTRATOR_PATCH service binding.
 * It records patch events in D1; the files themselves are changed by the patch engine.
 */
export class PatchOps extends BaseWorkerEntrypoint<Env> {
  protected readonly entrypointName = "PatchOps";

  async applyPatches(batch: PatchBatch): Promise<ApplyPatchesResult> {
    const requestId = this.newRequestId();
    if (batch.patches.length > MAX_PATCHES_PER_BATCH) {
      throw new Error(`batch ${batch.orderId} has more than ${MAX_PATCHES_PER_BATCH} patches`);
    }
    const batchId = `${batch.orderId}-${requestId.slice(0, 8)}`;
    const events: PatchEvent[] = batch.patches.map((patch) => ({
      ts: this.now(),
      kind: "requested",
      batchId,
      orderId: batch.orderId,
      taskId: patch.taskId,
      file: patch.file,
      op: patch.op,
      linesAdded: 0,
      linesRemoved: 0,
    }));
    const insert = this.env.DB.prepare(
      "INSERT INTO patch_events (batch_id, kind, file, lines_added, lines_removed, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    );
    await this.env.DB.batch(
      events.map((event) =>
        insert.bind(event.batchId, event.kind, event.file ?? null, event.linesAdded, event.linesRemoved, event.ts),
      ),
    );
    this.log(requestId, "patch batch recorded", { batchId, patches: events.length });
    return { batchId, applied: events.length, events };
  }

  async listPatchEvents(batchId: string): Promise<PatchEventRow[]> {
    const { results } = await this.env.DB.prepare(
      "SELECT id, batch_id, kind, file, lines_added, lines_removed, created_at FROM patch_events WHERE batch_id = ? ORDER BY id",
    )
      .bind(batchId)
      .all<PatchEventRow>();
    return results;
  }

  // @vibehq:rpc-methods
}
