import { BaseWorkerEntrypoint } from "@shared/base/BaseWorkerEntrypoint";
import type { Env } from "../types";

export type LogLevel = "debug" | "info" | "warn" | "error";

/** RPC entrypoint behind the ORCHESTRATOR_LOGGING service binding. */
export class LoggingOps extends BaseWorkerEntrypoint<Env> {
  protected readonly entrypointName = "LoggingOps";

  async write(app: string, level: LogLevel, message: string): Promise<void> {
    await this.env.DB.prepare("INSERT INTO app_logs (app, level, message, created_at) VALUES (?, ?, ?, ?)")
      .bind(app, level, message, this.now())
      .run();
  }
}
