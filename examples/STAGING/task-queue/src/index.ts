import type { Env } from "./types";

export { TaskQueue } from "./queue";

interface EnqueueBody {
  kind: string;
  payload?: unknown;
  priority?: number;
}

function isEnqueueBody(value: unknown): value is EnqueueBody {
  return typeof value === "object" && value !== null && typeof (value as EnqueueBody).kind === "string";
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const match = /^\/api\/tasks\/([\w-]+)\/(enqueue|claim|complete|pending|stats|purge)$/.exec(url.pathname);
    if (!match) {
      return Response.json({ error: "not found" }, { status: 404 });
    }
    const [, queueName, action] = match;
    const queue = env.TASK_QUEUES.get(env.TASK_QUEUES.idFromName(queueName));
    switch (action) {
      case "enqueue": {
        const body: unknown = await request.json();
        if (!isEnqueueBody(body)) {
          return Response.json({ error: "a task is {kind, payload?, priority?}" }, { status: 400 });
        }
        return Response.json({ id: await queue.enqueue(body.kind, body.payload ?? null, body.priority ?? 0) }, { status: 201 });
      }
      case "claim": {
        const task = await queue.claim(url.searchParams.get("worker") ?? "anonymous");
        return task ? Response.json(task) : new Response(null, { status: 204 });
      }
      case "complete": {
        const id = Number(url.searchParams.get("id"));
        const status = url.searchParams.get("status") === "failed" ? "failed" : "done";
        await queue.complete(id, status, await request.text());
        return Response.json({ id, status });
      }
      case "pending":
        return Response.json({ tasks: await queue.pending() });
      case "stats":
        return Response.json(await queue.stats());
      default:
        return Response.json({ purged: await queue.purgeFinished() });
    }
  },
} satisfies ExportedHandler<Env>;
