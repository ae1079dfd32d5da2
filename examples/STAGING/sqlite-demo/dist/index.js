// Build output of `bun build`; never migrated (a default exclude of every manifest source).
import { Database } from "bun:sqlite";
var db = new Database("demo.sqlite");
db.run("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL DEFAULT (datetime('now')))");
var src_default = { port: 8787, fetch: () => new Response("built") };
export { src_default as default };
