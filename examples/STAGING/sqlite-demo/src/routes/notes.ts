import type { PatchOperation } from "../../../shared/contracts";
import { isNewNote } from "../contracts/notes";
import type { NotesStore } from "../db";
import { json, jsonError, readJson } from "../http";
import type { NewNote, NoteList, RouteHandler } from "../types";

export function listNotes(store: NotesStore): RouteHandler {
  return (request) => {
    const limit = Number(new URL(request.url).searchParams.get("limit") ?? "50");
    const body: NoteList = { notes: store.list(Number.isInteger(limit) && limit > 0 ? limit : 50), total: store.count() };
    return json(body);
  };
}

export function getNote(store: NotesStore): RouteHandler {
  return (_request, params) => {
    const note = store.get(Number(params.id));
    return note ? json(note) : jsonError(`note ${params.id} not found`, 404);
  };
}

export function createNote(store: NotesStore): RouteHandler {
  return async (request) => {
    const body = await readJson(request);
    if (!isNewNote(body)) {
      return jsonError("a note is {title, body}", 400);
    }
    return json(store.add(body), 201);
  };
}

export function deleteNote(store: NotesStore): RouteHandler {
  return (_request, params) =>
    store.remove(Number(params.id)) ? new Response(null, { status: 204 }) : jsonError(`note ${params.id} not found`, 404);
}

/** One note per patch operation, so a batch's reason is kept next to every file it touched. */
export function notesFromOperations(reason: string, operations: PatchOperation[]): NewNote[] {
  return operations.map((operation) => ({
    title: `${operation.op} ${operation.file}`,
    body: operation.taskId ? `${reason} (task ${operation.taskId})` : reason,
  }));
}
