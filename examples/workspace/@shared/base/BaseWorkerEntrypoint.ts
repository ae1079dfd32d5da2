import { WorkerEntrypoint } from "cloudflare:workers";

/**
 * Common base for every RPC entrypoint the orchestrator exposes through service bindings.
 * Subclasses get a typed `env` and one place for request ids and structured logs.
 */
export abstract class BaseWorkerEntrypoint<Env = unknown> extends WorkerEntrypoint<Env> {
  /** Name used in log lines and in the orchestrator's RPC routing table. */
  protected abstract readonly entrypointName: string;

  protected newRequestId(): string {
    return crypto.randomUUID();
  }

  protected log(requestId: string, message: string, fields: Record<string, unknown> = {}): void {
    console.log(
      JSON.stringify({
        entrypoint: this.entrypointName,
        requestId,
        message,
        ...fields,
      }),
    );
  }

  protected now(): string {
    return new Date().toISOString();
  }
}
