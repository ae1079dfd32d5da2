import type { Database } from "bun:sqlite";

/** Writes a consistent snapshot of whatever database it is given. */
export async function writeBackup(db: Database, path: string): Promise<number> {
  const tables = db.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
  const bytes = db.serialize();
  await Bun.write(path, bytes);
  return tables.length;
}
