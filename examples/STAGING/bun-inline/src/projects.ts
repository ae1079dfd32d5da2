import type { Database } from "bun:sqlite";
import type { NewProject, ProjectRow } from "./types";

export function findProject(db: Database, slug: string): ProjectRow | null {
  return db.query("SELECT id, slug, name, owner, archived FROM projects WHERE slug = ?").get(slug) as ProjectRow | null;
}

export function listProjects(db: Database, owner: string): ProjectRow[] {
  return db.query("SELECT id, slug, name, owner, archived FROM projects WHERE owner = ? AND archived = 0 ORDER BY slug").all(owner) as ProjectRow[];
}

export function createProject(db: Database, project: NewProject): number {
  const result = db.query("INSERT INTO projects (slug, name, owner) VALUES (?, ?, ?)").run(project.slug, project.name, project.owner);
  return Number(result.lastInsertRowid);
}

export function renameProject(db: Database, slug: string, name: string): boolean {
  return db.query("UPDATE projects SET name = ? WHERE slug = ?").run(name, slug).changes > 0;
}

export function archiveProject(db: Database, slug: string): boolean {
  return db.query("UPDATE projects SET archived = 1 WHERE slug = ?").run(slug).changes > 0;
}
