import { Database } from "bun:sqlite";
import { archiveProject, createProject, findProject, listProjects, renameProject } from "./projects";
import type { NewProject } from "./types";

const db = new Database("projects.sqlite", { create: true });
db.exec(
  "CREATE TABLE IF NOT EXISTS projects (id INTEGER PRIMARY KEY AUTOINCREMENT, slug TEXT NOT NULL UNIQUE, name TEXT NOT NULL, owner TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0)",
);

function isNewProject(value: unknown): value is NewProject {
  if (typeof value !== "object" || value === null) {
    return false;
  }
  const { slug, name, owner } = value as Record<string, unknown>;
  return typeof slug === "string" && typeof name === "string" && typeof owner === "string";
}

async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const match = /^\/api\/projects\/(list|get|create|rename|archive)$/.exec(url.pathname);
  if (!match) {
    return Response.json({ error: "not found" }, { status: 404 });
  }
  const slug = url.searchParams.get("slug") ?? "";
  switch (match[1]) {
    case "list":
      return Response.json({ projects: listProjects(db, url.searchParams.get("owner") ?? "") });
    case "get": {
      const project = findProject(db, slug);
      return project ? Response.json(project) : Response.json({ error: `project ${slug} not found` }, { status: 404 });
    }
    case "create": {
      const body: unknown = await request.json();
      if (!isNewProject(body)) {
        return Response.json({ error: "a project is {slug, name, owner}" }, { status: 400 });
      }
      return Response.json({ id: createProject(db, body) }, { status: 201 });
    }
    case "rename":
      return Response.json({ renamed: renameProject(db, slug, await request.text()) });
    default:
      return Response.json({ archived: archiveProject(db, slug) });
  }
}

Bun.serve({ port: Number(process.env.PORT ?? "8788"), fetch: handle });
