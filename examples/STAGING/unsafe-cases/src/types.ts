export interface IssueRow {
  id: number;
  project: string;
  title: string;
  state: "open" | "closed";
  label: string | null;
  assignee: string | null;
}

export interface IssueFilter {
  project?: string;
  state?: "open" | "closed";
  assignee?: string;
}

export interface ImportedIssue {
  title: string;
  label: string | null;
}
