export interface Env {
  DB: D1Database;
}

export interface NoteRow {
  id: number;
  title: string;
  body: string;
  created_at: string;
  updated_at: string | null;
}

export interface Note {
  id: number;
  title: string;
  body: string;
  createdAt: string;
  updatedAt: string | null;
}

export interface NoteInput {
  title: string;
  body: string;
}
