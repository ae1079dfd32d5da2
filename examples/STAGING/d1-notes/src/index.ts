import type { Env, Note, NoteInput, NoteRow } from "./types";

const DEFAULT_LIMIT = 50;

function toNote(row: NoteRow): Note {
  return { id: row.id, title: row.title, body: row.body, createdAt: row.created_at, updatedAt: row.updated_at };
}

function isNoteInput(value: unknown): value is NoteInput {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const { title, body } = value as Record<string, unknown>;
  return typeof title === "string" && title.length > 0 && typeof body === "string";
}

async function listNotes(env: Env, limit: number): Promise<Response> {
  const { results } = await env.DB.prepare("SELECT id, title, body, created_at, updated_at FROM notes ORDER BY id DESC LIMIT ?")
    .bind(limit)
    .all<NoteRow>();
  return Response.json({ notes: results.map(toNote) });
}

async function getNote(env: Env, id: number): Promise<Response> {
  const row = await env.DB.prepare("SELECT id, title, body, created_at, updated_at FROM notes WHERE id = ?").bind(id).first<NoteRow>();
  return row ? Response.json(toNote(row)) : Response.json({ error: `note ${id} not found` }, { status: 404 });
}

async function createNote(env: Env, input: NoteInput): Promise<Response> {
  const result = await env.DB.prepare("INSERT INTO notes (title, body, created_at) VALUES (?, ?, ?)")
    .bind(input.title, input.body, new Date().toISOString())
    .run();
  return Response.json({ id: result.meta.last_row_id }, { status: 201 });
}

async function updateNote(env: Env, id: number, input: NoteInput): Promise<Response> {
  const { meta } = await env.DB.prepare("UPDATE notes SET title = ?, body = ?, updated_at = ? WHERE id = ?")
    .bind(input.title, input.body, new Date().toISOString(), id)
    .run();
  return meta.changes > 0 ? Response.json({ id }) : Response.json({ error: `note ${id} not found` }, { status: 404 });
}

async function deleteNote(env: Env, id: number): Promise<Response> {
  const { meta } = await env.DB.prepare("DELETE FROM notes WHERE id = ?").bind(id).run();
  return meta.changes > 0 ? new Response(null, { status: 204 }) : Response.json({ error: `note ${id} not found` }, { status: 404 });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const match = /^\/api\/notes(?:\/(\d+))?$/.exec(url.pathname);
    if (!match) {
      return Response.json({ error: "not found" }, { status: 404 });
    }
    const id = match[1] === undefined ? null : Number(match[1]);
    if (id === null) {
      if (request.method === "GET") {
        const limit = Number(url.searchParams.get("limit") ?? DEFAULT_LIMIT);
        return listNotes(env, Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_LIMIT);
      }
      if (request.method === "POST") {
        const body: unknown = await request.json();
        return isNoteInput(body) ? createNote(env, body) : Response.json({ error: "a note is {title, body}" }, { status: 400 });
      }
      return new Response("method not allowed", { status: 405, headers: { allow: "GET, POST" } });
    }
    switch (request.method) {
      case "GET":
        return getNote(env, id);
      case "PUT": {
        const body: unknown = await request.json();
        return isNoteInput(body) ? updateNote(env, id, body) : Response.json({ error: "a note is {title, body}" }, { status: 400 });
      }
      case "DELETE":
        return deleteNote(env, id);
      default:
        return new Response("method not allowed", { status: 405, headers: { allow: "GET, PUT, DELETE" } });
    }
  },
} satisfies ExportedHandler<Env>;
