import type { Database, SQLQueryBindings } from "bun:sqlite";
import type { IssueFilter, IssueRow } from "./types";

/** The WHERE clause depends on which filters are set, so the SQL text only exists at run time. */
export function searchIssues(db: Database, filter: IssueFilter): IssueRow[] {
  const clauses: string[] = [];
  const values: SQLQueryBindings[] = [];
  for (const [column, value] of Object.entries(filter)) {
    if (value !== undefined) {
      clauses.push(`${column} = ?`);
      values.push(value);
    }
  }
  const where = clauses.length > 0 ? clauses.join(" AND ") : "1 = 1";
  return db.query("SELECT * FROM issues WHERE " + where + " ORDER BY id DESC").all(...values) as IssueRow[];
}
