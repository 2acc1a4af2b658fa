import type { SqlExecutor } from '@refinery/events';

export interface AttributeView {
  name: string;
  type: 'text' | 'category' | 'integer' | 'float' | 'boolean';
}

export interface ProjectView {
  id: string;
  name: string;
  createdAt: string;
  createdBy: string;
  recordCount: number;
  attributes: AttributeView[];
}

interface ProjectRow {
  id: string;
  name: string;
  created_at: string | Date;
  created_by: string;
  attributes: AttributeView[];
  record_count: string | null;
}

const SELECT = `select p.id::text, p.name, p.created_at, p.created_by, p.attributes, s.record_count::text
  from rm_projects p left join rm_project_stats s on s.project_id = p.id`;

function toView(row: ProjectRow): ProjectView {
  return {
    id: row.id,
    name: row.name,
    createdAt: new Date(row.created_at).toISOString(),
    createdBy: row.created_by,
    recordCount: Number(row.record_count ?? 0),
    attributes: row.attributes,
  };
}

export async function listProjects(sql: SqlExecutor): Promise<ProjectView[]> {
  const r = await sql.query<ProjectRow>(`${SELECT} order by p.created_at, p.id`);
  return r.rows.map(toView);
}

export async function getProject(sql: SqlExecutor, id: string): Promise<ProjectView | undefined> {
  const r = await sql.query<ProjectRow>(`${SELECT} where p.id = $1`, [id]);
  return r.rows[0] ? toView(r.rows[0]) : undefined;
}
