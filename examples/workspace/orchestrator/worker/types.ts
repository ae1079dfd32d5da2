/** Bindings of the orchestrator worker (see orchestrator/wrangler.jsonc). */
export interface Env {
  DB: D1Database;
  PATCH_WEBHOOK_URL?: string;
  ENVIRONMENT: "development" | "staging" | "production";
}

export interface PatchEventRow {
  id: number;
  batch_id: string;
  kind: string;
  file: string | null;
  lines_added: number;
  lines_removed: number;
  created_at: string;
}
