import { countByLevel, logError, logLine, recentLogs, type LogLevel } from "./storage";

const LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

function isLogLevel(value: string): value is LogLevel {
  return (LEVELS as readonly string[]).includes(value);
}

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/api/logger/write" && request.method === "POST") {
    const level = url.searchParams.get("level") ?? "info";
    if (!isLogLevel(level)) {
      return Response.json({ error: `unknown level ${level}` }, { status: 400 });
    }
    logLine(level, await request.text());
    return Response.json({ ok: true, level }, { status: 201 });
  }
  if (url.pathname === "/api/logger/list" && request.method === "GET") {
    const limit = Number(url.searchParams.get("limit") ?? "100");
    return Response.json({ logs: recentLogs(Number.isInteger(limit) && limit > 0 ? limit : 100) });
  }
  if (url.pathname === "/api/logger/stats" && request.method === "GET") {
    const counts: Partial<Record<LogLevel, number>> = {};
    for (const level of LEVELS) {
      counts[level] = countByLevel(level);
    }
    return Response.json(counts);
  }
  return Response.json({ error: "not found" }, { status: 404 });
}

export default {
  async fetch(request: Request): Promise<Response> {
    try {
      return await handle(request);
    } catch (error) {
      logError(error instanceof Error ? error.message : String(error));
      return Response.json({ error: "internal error" }, { status: 500 });
    }
  },
} satisfies ExportedHandler;
