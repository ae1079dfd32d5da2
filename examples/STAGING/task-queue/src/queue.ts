import { DurableObject } from "cloudflare:workers";
import type { Env, QueueStats, Task, TaskStatus } from "./types";

type TaskRow = {
  id: number;
  kind: string;
  payload: string;
  priority: number;
  status: TaskStatus;
  worker: string | null;
  result: string | null;
};

function toTask(row: TaskRow): Task {
  return { ...row, payload: JSON.parse(row.payload) as unknown };
}

/**
 * A queue of container jobs. Claiming is one UPDATE ... RETURNING so two workers never get the
 * same task; the object's input gate already serialises calls, the statement keeps it explicit.
 */
export class TaskQueue extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      this.ctx.storage.sql.exec(
        "CREATE TABLE IF NOT EXISTS tasks (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, payload TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'queued', worker TEXT, result TEXT, created_at TEXT NOT NULL, finished_at TEXT)",
      );
    });
  }

  async enqueue(kind: string, payload: unknown, priority = 0): Promise<number> {
    const row = this.ctx.storage.sql
      .exec<{ id: number }>(
        "INSERT INTO tasks (kind, payload, priority, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        kind,
        JSON.stringify(payload),
        priority,
        new Date().toISOString(),
      )
      .one();
    return row.id;
  }

  async claim(worker: string): Promise<Task | null> {
    const rows = this.ctx.storage.sql
      .exec<TaskRow>(
        "UPDATE tasks SET status = 'running', worker = ? WHERE id = (SELECT id FROM tasks WHERE status = 'queued' ORDER BY priority DESC, id LIMIT 1) RETURNING id, kind, payload, priority, status, worker, result",
        worker,
      )
      .toArray();
    return rows.length > 0 ? toTask(rows[0]) : null;
  }

  async complete(id: number, status: "done" | "failed", result: string): Promise<void> {
    this.ctx.storage.sql.exec(
      "UPDATE tasks SET status = ?, result = ?, finished_at = ? WHERE id = ?",
      status,
      result,
      new Date().toISOString(),
      id,
    );
  }

  async pending(): Promise<Task[]> {
    const tasks: Task[] = [];
    for (const row of this.ctx.storage.sql.exec<TaskRow>(
      "SELECT id, kind, payload, priority, status, worker, result FROM tasks WHERE status = 'queued' ORDER BY priority DESC, id",
    )) {
      tasks.push(toTask(row));
    }
    return tasks;
  }

  async stats(): Promise<QueueStats> {
    const stats: QueueStats = { queued: 0, running: 0, done: 0, failed: 0 };
    const rows = this.ctx.storage.sql
      .exec<{ status: TaskStatus; total: number }>("SELECT status, COUNT(*) AS total FROM tasks GROUP BY status")
      .toArray();
    for (const row of rows) {
      stats[row.status] = row.total;
    }
    return stats;
  }

  async purgeFinished(): Promise<number> {
    return this.ctx.storage.sql.exec("DELETE FROM tasks WHERE status IN ('done', 'failed')").rowsWritten;
  }
}
