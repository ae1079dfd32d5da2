/**
 * Logging contract shared by the orchestrator's LoggingOps entrypoint and app workers.
 * Apps send LogEntry values over the ORCHESTRATOR_LOGGING binding instead of writing to D1.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export interface LogEntry {
  app: string;
  level: LogLevel;
  message: string;
  requestId?: string;
  fields?: Record<string, string | number | boolean>;
}

export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}
