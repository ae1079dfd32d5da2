import { Database } from "bun:sqlite";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogRow {
  id: number;
  level: LogLevel;
  message: string;
  created_at: string;
}

const db = new Database("logs.db", { create: true });
db.exec(
  "CREATE TABLE IF NOT EXISTS logs (id INTEGER PRIMARY KEY AUTOINCREMENT, level TEXT NOT NULL, message TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT (datetime('now')))",
);

export const logLine = (level: LogLevel, message: string): void => {
  db.query("INSERT INTO logs (level, message) VALUES (?, ?)").run(level, message);
};

export const logError = (error: string): void => {
  db.query("INSERT INTO logs (level, message) VALUES ('error', ?)").run(error);
};

export const recentLogs = (limit: number): LogRow[] =>
  db.query("SELECT id, level, message, created_at FROM logs ORDER BY id DESC LIMIT ?").all(limit) as LogRow[];

export const countByLevel = (level: LogLevel): number => {
  const row = db.query("SELECT COUNT(*) AS total FROM logs WHERE level = ?").get(level) as { total: number };
  return row.total;
};
