import type { PatchBatch } from "../../shared/contracts/patch";
import { NotesStore } from "./db";
import { json, jsonError, readJson } from "./http";
import { createNote, deleteNote, getNote, listNotes, notesFromOperations } from "./routes/notes";
import type { RouteHandler } from "./types";

const store = new NotesStore();

function isPatchBatch(value: unknown): value is PatchBatch {
  const candidate = value as Partial<PatchBatch> | undefined;
  return typeof candidate?.orderId === "string" && typeof candidate.reason === "string" && Array.isArray(candidate.patches);
}

async function recordBatch(request: Request): Promise<Response> {
  const batch = await readJson(request);
  if (!isPatchBatch(batch)) {
    return jsonError("expected a PatchBatch {orderId, reason, patches}", 400);
  }
  const notes = store.addMany(notesFromOperations(batch.reason, batch.patches));
  return json({ orderId: batch.orderId, notes }, 201);
}

const routes: Record<string, RouteHandler> = {
  "GET /api/notes/list": listNotes(store),
  "POST /api/notes/create": createNote(store),
  "POST /api/notes/from-batch": recordBatch,
};

const noteRoutes: Record<string, RouteHandler> = {
  GET: getNote(store),
  DELETE: deleteNote(store),
};

const NOTE_PATH = /^\/api\/notes\/(\d+)$/;

export default {
  port: 8787,
  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    const route = routes[`${request.method} ${pathname}`];
    if (route) {
      return route(request, {});
    }
    const id = NOTE_PATH.exec(pathname)?.[1];
    const noteRoute = id === undefined ? undefined : noteRoutes[request.method];
    if (noteRoute && id !== undefined) {
      return noteRoute(request, { id });
    }
    return jsonError(`no route for ${request.method} ${pathname}`, 404);
  },
};
