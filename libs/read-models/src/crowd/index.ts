import type { Projection } from '@refinery/projector';
import type { CrowdEvent, ProjectDeleted, Recorded, SqlExecutor } from '@refinery/events';

/**
 * Crowd links of a project for the members page: settings, state, how many people joined and
 * how many records they labeled. The API decides about a link from its own stream, never from
 * here (docs/crowd.md); this is the listing only.
 */
export const crowdLinksProjection: Projection = {
  name: 'crowd_links',
  version: 2,
  handles: ['CrowdLinkCreated', 'CrowdLinkRevoked', 'CrowdHolderJoined', 'CrowdRecordLabeled', 'ProjectDeleted'],
  async setup(sql) {
    await sql.exec(`
      create table if not exists rm_crowd_links (
        project_id uuid not null,
        id         uuid not null,
        name       text not null,
        slice_id   text not null,
        task_id    text,
        quota      integer not null,
        prefix     text not null,
        expires_at timestamptz not null,
        created_by text not null,
        created_at timestamptz not null,
        revoked_at timestamptz,
        holders    integer not null default 0,
        primary key (project_id, id)
      );
      create table if not exists rm_crowd_answers (
        link_id   uuid not null,
        holder_id uuid not null,
        record_id text not null,
        task_id   text not null,
        primary key (link_id, holder_id, record_id, task_id)
      );
      -- v2: per project, like every other read-model table (audit comparisons, deletion)
      alter table rm_crowd_answers add column if not exists project_id uuid;
      create index if not exists rm_crowd_answers_project on rm_crowd_answers (project_id);
    `);
  },
  async reset(sql) {
    await sql.exec('delete from rm_crowd_links; delete from rm_crowd_answers;');
  },
  async apply(tx, events) {
    for (const e of events as readonly Recorded<CrowdEvent | ProjectDeleted>[]) {
      switch (e.type) {
        case 'CrowdLinkCreated': {
          const d = e.data;
          await tx.query(
            `insert into rm_crowd_links (project_id, id, name, slice_id, task_id, quota, prefix, expires_at, created_by, created_at)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) on conflict do nothing`,
            [d.projectId, d.linkId, d.name, d.sliceId, d.taskId, d.quota, d.prefix, d.expiresAt, e.meta.actor, e.meta.at],
          );
          break;
        }
        case 'CrowdLinkRevoked':
          await tx.query('update rm_crowd_links set revoked_at = coalesce(revoked_at, $3) where project_id = $1 and id = $2', [e.data.projectId, e.data.linkId, e.meta.at]);
          break;
        case 'CrowdHolderJoined':
          await tx.query('update rm_crowd_links set holders = holders + 1 where project_id = $1 and id = $2', [e.data.projectId, e.data.linkId]);
          break;
        case 'CrowdRecordLabeled': {
          const d = e.data;
          if (d.labelIds.length || d.spans.length) {
            await tx.query('insert into rm_crowd_answers (project_id, link_id, holder_id, record_id, task_id) values ($1, $2, $3, $4, $5) on conflict do nothing', [d.projectId, d.linkId, d.holderId, d.recordId, d.taskId]);
          } else {
            await tx.query('delete from rm_crowd_answers where link_id = $1 and holder_id = $2 and record_id = $3 and task_id = $4', [d.linkId, d.holderId, d.recordId, d.taskId]);
          }
          break;
        }
        case 'ProjectDeleted':
          await tx.query('delete from rm_crowd_answers where project_id = $1', [e.data.projectId]);
          await tx.query('delete from rm_crowd_links where project_id = $1', [e.data.projectId]);
          break;
      }
    }
  },
};

export interface CrowdLinkView {
  id: string;
  name: string;
  sliceId: string;
  taskId: string | null;
  quota: number;
  prefix: string;
  expiresAt: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string | null;
  status: 'active' | 'expired' | 'revoked';
  /** people who opened the link */
  holders: number;
  /** records labeled through it (per holder, summed) */
  recordsLabeled: number;
}

export async function listCrowdLinks(sql: SqlExecutor, projectId: string, now: Date = new Date()): Promise<CrowdLinkView[]> {
  const r = await sql.query<{
    id: string;
    name: string;
    slice_id: string;
    task_id: string | null;
    quota: number;
    prefix: string;
    expires_at: string | Date;
    created_by: string;
    created_at: string | Date;
    revoked_at: string | Date | null;
    holders: number;
    records: string;
  }>(
    `select l.id::text, l.name, l.slice_id, l.task_id, l.quota, l.prefix, l.expires_at, l.created_by, l.created_at, l.revoked_at, l.holders,
       (select count(*) from (select distinct a.holder_id, a.record_id from rm_crowd_answers a where a.link_id = l.id) d)::text as records
     from rm_crowd_links l where l.project_id = $1 order by l.created_at desc, l.id`,
    [projectId],
  );
  return r.rows.map((l) => {
    const expiresAt = new Date(l.expires_at).toISOString();
    return {
      id: l.id,
      name: l.name,
      sliceId: l.slice_id,
      taskId: l.task_id,
      quota: l.quota,
      prefix: l.prefix,
      expiresAt,
      createdBy: l.created_by,
      createdAt: new Date(l.created_at).toISOString(),
      revokedAt: l.revoked_at ? new Date(l.revoked_at).toISOString() : null,
      status: l.revoked_at ? 'revoked' : Date.parse(expiresAt) <= now.getTime() ? 'expired' : 'active',
      holders: l.holders,
      recordsLabeled: Number(l.records),
    };
  });
}
