import type { Database } from "bun:sqlite";
import type { ImportedIssue } from "./types";

/**
 * Imports a project and its issues atomically: either the project, every issue and the counter
 * all land, or none does. Splitting these statements into separate RPC calls would lose that.
 */
export function importProject(db: Database, project: string, issues: ImportedIssue[]): number {
  const run = db.transaction((rows: ImportedIssue[]) => {
    db.query("INSERT INTO projects (slug, issue_count) VALUES (?, 0)").run(project);
    const insert = db.query("INSERT INTO issues (project, title, state, label) VALUES (?, ?, 'open', ?)");
    for (const row of rows) {
      insert.run(project, row.title, row.label);
    }
    db.query("UPDATE projects SET issue_count = issue_count + ? WHERE slug = ?").run(rows.length, project);
    return rows.length;
  });
  return run(issues);
}
