/**
 * Row shape of the `notes` table, column for column. The orchestrator owns this table once the
 * worker reaches it over RPC, so the migration moves this file to
 * orchestrator/worker/database/sqlite-demo/.
 */
export interface NoteRow {
  id: number;
  title: string;
  body: string;
  created_at: string;
}
