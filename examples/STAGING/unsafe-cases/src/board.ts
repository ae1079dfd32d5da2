import type { Database } from "bun:sqlite";

export interface LabelCount {
  label: string;
  open: number;
}

/** Callers read these synchronously (a getter, a map callback); an async RPC cannot stand in. */
export class Board {
  constructor(
    private readonly db: Database,
    readonly project: string,
  ) {}

  get openCount(): number {
    const row = this.db.query("SELECT COUNT(*) AS total FROM issues WHERE project = ? AND state = 'open'").get(this.project) as {
      total: number;
    };
    return row.total;
  }

  labelCounts(labels: string[]): LabelCount[] {
    return labels.map((label) => {
      const row = this.db
        .query("SELECT COUNT(*) AS total FROM issues WHERE project = ? AND label = ? AND state = 'open'")
        .get(this.project, label) as { total: number };
      return { label, open: row.total };
    });
  }

  summary(): string {
    return `${this.project}: ${this.openCount} open`;
  }
}
