import type { PatchEvent } from "../../shared/contracts";
import type { Env, Stream } from "./types";

export { TerminalSession } from "./session";

const STREAMS: readonly Stream[] = ["stdin", "stdout", "stderr"];

function isStream(value: string): value is Stream {
  return (STREAMS as readonly string[]).includes(value);
}

function describe(event: PatchEvent): string {
  const where = event.file ? ` ${event.file}` : "";
  return `[patch ${event.kind}] ${event.batchId}${where} +${event.linesAdded} -${event.linesRemoved}`;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const match = /^\/api\/terminal\/([\w-]+)\/(lines|patch-event)$/.exec(url.pathname);
    if (!match) {
      return Response.json({ error: "not found" }, { status: 404 });
    }
    const [, sessionId, action] = match;
    const session = env.TERMINAL_SESSIONS.get(env.TERMINAL_SESSIONS.idFromName(sessionId));
    if (action === "patch-event" && request.method === "POST") {
      const event = (await request.json()) as PatchEvent;
      return Response.json({ seq: await session.append("stdout", describe(event)) }, { status: 201 });
    }
    if (request.method === "POST") {
      const stream = url.searchParams.get("stream") ?? "stdout";
      if (!isStream(stream)) {
        return Response.json({ error: `unknown stream ${stream}` }, { status: 400 });
      }
      return Response.json({ seq: await session.append(stream, await request.text()) }, { status: 201 });
    }
    const since = Number(url.searchParams.get("since") ?? "0");
    return Response.json({ lines: await session.since(since) });
  },
} satisfies ExportedHandler<Env>;
