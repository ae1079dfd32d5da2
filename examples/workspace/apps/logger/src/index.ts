import type { LoggingOps, LogLevel } from "../../../orchestrator/worker/entrypoints/logging";

interface Env {
  ORCHESTRATOR_LOGGING: Service<LoggingOps>;
  APP_NAME: string;
}

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function isLogLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method !== "POST") {
      return new Response("method not allowed", { status: 405, headers: { allow: "POST" } });
    }
    const url = new URL(request.url);
    const level = url.searchParams.get("level") ?? "info";
    if (!isLogLevel(level)) {
      return Response.json({ error: `unknown level ${level}` }, { status: 400 });
    }
    const message = await request.text();
    await env.ORCHESTRATOR_LOGGING.write(env.APP_NAME, level, message);
    return Response.json({ ok: true, level });
  },
} satisfies ExportedHandler<Env>;
