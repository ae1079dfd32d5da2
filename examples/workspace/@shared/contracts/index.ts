/**
 * Contracts shared by the orchestrator and every app worker.
 * Apps never talk to D1 directly: they call orchestrator RPC methods with these shapes.
 */

export type PatchOpName =
  | "replace-block"
  | "insert-before"
  | "insert-after"
  | "append"
  | "prepend"
  | "create"
  | "delete";

export interface PatchOperation {
  op: PatchOpName;
  file: string;
  start?: number;
  end?: number;
  line?: number;
  block?: string;
  taskId?: string;
}

export interface PatchBatch {
  orderId: string;
  requester: string;
  reason: string;
  branch?: string;
  patches: PatchOperation[];
}

export type PatchEventKind = "requested" | "applied" | "failed" | "rolled_back";

export interface PatchEvent {
  ts: string;
  kind: PatchEventKind;
  batchId: string;
  orderId?: string;
  taskId?: string;
  file?: string;
  op?: PatchOpName;
  linesAdded: number;
  linesRemoved: number;
  error?: string;
}

export interface ApplyPatchesResult {
  batchId: string;
  applied: number;
  events: PatchEvent[];
}
