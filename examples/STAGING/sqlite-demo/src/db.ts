import { Database, type Statement } from "bun:sqlite";
import type { NoteRow } from "./schema/notes";
import type { NewNote, Note } from "./types";

function toNote(row: NoteRow): Note {
  return { id: row.id, title: row.title, body: row.body, createdAt: row.created_at };
}

/**
 * The worker's own SQLite store. This is the "before" state of the D1-to-RPC migration: after it,
 * every method here becomes a call on the orchestrator's SqliteDemoOps entrypoint.
 */
export class NotesStore {
  private readonly db: Database;
  private readonly insertNote: Statement;
  private readonly selectNote: Statement;
  private readonly deleteNote: Statement;

  constructor() {
    this.db = new Database("demo.sqlite", { create: true });
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec(
      "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT (datetime('now')))",
    );
    this.insertNote = this.db.query("INSERT INTO notes (title, body) VALUES (?, ?)");
    this.selectNote = this.db.query("SELECT id, title, body, created_at FROM notes WHERE id = ?");
    this.deleteNote = this.db.query("DELETE FROM notes WHERE id = ?");
  }

  add(note: NewNote): Note {
    const { lastInsertRowid } = this.insertNote.run(note.title, note.body);
    const created = this.get(Number(lastInsertRowid));
    if (created === null) {
      throw new Error(`note ${lastInsertRowid} vanished after its insert`);
    }
    return created;
  }

  addMany(notes: NewNote[]): Note[] {
    const insertAll = this.db.transaction((batch: NewNote[]) => batch.map((note) => this.add(note)));
    return insertAll(notes);
  }

  get(id: number): Note | null {
    const row = this.selectNote.get(id) as NoteRow | null;
    return row ? toNote(row) : null;
  }

  list(limit: number): Note[] {
    const rows = this.db.query("SELECT id, title, body, created_at FROM notes ORDER BY id DESC").all() as NoteRow[];
    return rows.slice(0, limit).map(toNote);
  }

  count(): number {
    const row = this.db.query("SELECT COUNT(*) AS total FROM notes").get() as { total: number };
    return row.total;
  }

  remove(id: number): boolean {
    return this.deleteNote.run(id).changes > 0;
  }
}
