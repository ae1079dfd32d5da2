/**
 * Request and response shapes of the notes API. Other apps post notes too, so these move to
 * @shared/contracts/sqlite-demo/ while the worker itself moves to apps/sqlite-demo/.
 */

export interface NewNote {
  title: string;
  body: string;
}

export interface Note extends NewNote {
  id: number;
  createdAt: string;
}

export interface NoteList {
  notes: Note[];
  total: number;
}

export function isNewNote(value: unknown): value is NewNote {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const candidate = value as Record<string, unknown>;
  return typeof candidate.title === "string" && candidate.title.trim() !== "" && typeof candidate.body === "string";
}
