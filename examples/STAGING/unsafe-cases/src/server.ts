import { Database } from "bun:sqlite";
import { writeBackup } from "./backup";
import { Board } from "./board";
import { importProject } from "./importer";
import { searchIssues } from "./search";
import type { ImportedIssue, IssueFilter } from "./types";

const db = new Database("issues.sqlite", { create: true });
db.exec(
  "CREATE TABLE IF NOT EXISTS projects (slug TEXT PRIMARY KEY, issue_count INTEGER NOT NULL DEFAULT 0)",
);
db.exec(
  "CREATE TABLE IF NOT EXISTS issues (id INTEGER PRIMARY KEY AUTOINCREMENT, project TEXT NOT NULL, title TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'open', label TEXT, assignee TEXT)",
);

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const project = url.searchParams.get("project") ?? "";
  switch (url.pathname) {
    case "/api/issues/search": {
      const state = url.searchParams.get("state");
      const filter: IssueFilter = {
        project: project || undefined,
        state: state === "open" || state === "closed" ? state : undefined,
        assignee: url.searchParams.get("assignee") ?? undefined,
      };
      return Response.json({ issues: searchIssues(db, filter) });
    }
    case "/api/issues/import": {
      const issues = (await request.json()) as ImportedIssue[];
      return Response.json({ imported: importProject(db, project, issues) }, { status: 201 });
    }
    case "/api/issues/board": {
      const board = new Board(db, project);
      const labels = url.searchParams.getAll("label");
      return Response.json({ summary: board.summary(), labels: board.labelCounts(labels) });
    }
    case "/api/issues/backup":
      return Response.json({ tables: await writeBackup(db, `backup-${Date.now()}.sqlite`) });
    default:
      return Response.json({ error: "not found" }, { status: 404 });
  }
}

Bun.serve({ port: Number(process.env.PORT ?? "8789"), fetch: handle });
