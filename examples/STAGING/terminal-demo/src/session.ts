import { DurableObject } from "cloudflare:workers";
import type { Env, Stream, TerminalLine } from "./types";

type LineRow = {
  seq: number;
  stream: Stream;
  text: string;
  at: string;
};

/**
 * One terminal session: the lines it printed, in order, in the object's own SQLite storage.
 * The migration moves this storage to the orchestrator; the object keeps only the live socket.
 */
export class TerminalSession extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS lines (seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, text TEXT NOT NULL, at TEXT NOT NULL)",
    );
  }

  async append(stream: Stream, text: string): Promise<number> {
    const row = this.ctx.storage.sql
      .exec<{ seq: number }>("INSERT INTO lines (stream, text, at) VALUES (?, ?, ?) RETURNING seq", stream, text, new Date().toISOString())
      .one();
    return row.seq;
  }

  async since(seq: number): Promise<TerminalLine[]> {
    return this.ctx.storage.sql
      .exec<LineRow>("SELECT seq, stream, text, at FROM lines WHERE seq > ? ORDER BY seq", seq)
      .toArray();
  }

  async clear(): Promise<void> {
    this.ctx.storage.sql.exec("DELETE FROM lines");
  }
}
