"""Callers inside a folder type a database handed in as an untyped parameter."""

from __future__ import annotations

from engine.migrate.sqlcallers import find_folder_sql_sites, handed_databases

_SERVICE = b"""export class NoteService {
  constructor(DB) {
    this.DB = DB;
  }

  async byId(id) {
    return await this.DB.prepare("SELECT * FROM notes WHERE id = ?").bind(id).first();
  }
}

export async function countNotes(db) {
  return await db.prepare("SELECT COUNT(*) AS n FROM notes").first();
}
"""

_API = b"""import { NoteService, countNotes } from "./service";

export async function GET({ locals }) {
  const { DB } = locals.runtime.env;
  const service = new NoteService(DB);
  await countNotes(DB);
  return Response.json(await service.byId(1));
}
"""


def test_every_caller_hands_d1_so_the_untyped_param_is_a_database() -> None:
    files = {"app/src/service.ts": _SERVICE, "app/src/api.ts": _API}
    assert handed_databases(files) == {
        "app/src/service.ts": {"NoteService.DB": "D1Database", "countNotes.db": "D1Database"}
    }
    sites = find_folder_sql_sites(files)["app/src/service.ts"]
    assert [(s.start_line, s.call, s.tables_read) for s in sites] == [
        (7, "this.DB.prepare().bind().first", ["notes"]),
        (12, "db.prepare().first", ["notes"]),
    ]


def test_one_caller_handing_something_else_keeps_the_param_untyped() -> None:
    other = b"""import { NoteService } from "./service";
const fake = { prepare: (q) => ({ bind: () => ({ first: async () => q }) }) };
export const service = new NoteService(fake);
"""
    files = {"app/src/service.ts": _SERVICE, "app/src/api.ts": _API, "app/src/x.ts": other}
    assert "NoteService.DB" not in handed_databases(files).get("app/src/service.ts", {})
    sites = find_folder_sql_sites(files)["app/src/service.ts"]
    assert [s.call for s in sites] == ["db.prepare().first"]


def test_no_caller_no_site() -> None:
    assert find_folder_sql_sites({"app/src/service.ts": _SERVICE})["app/src/service.ts"] == []
