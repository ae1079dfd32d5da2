export interface ProjectRow {
  id: number;
  slug: string;
  name: string;
  owner: string;
  archived: number;
}

export interface NewProject {
  slug: string;
  name: string;
  owner: string;
}
