import type { IntegrationEvent } from '@refinery/integration-events';

/** One label (or span) of one answer: the same rows as the product's record-labels read model (manual and gold). */
export interface LabelRow {
  projectId: string;
  recordId: string;
  taskId: string;
  source: 'manual' | 'gold';
  /** the annotator (manual) or the expert who decided (gold) */
  annotator: string;
  labelId: string;
  spanStart: number | null;
  spanEnd: number | null;
  tokenStart: number | null;
  tokenEnd: number | null;
}

/**
 * A label table rebuilt from the `labels` topic (which also carries `project.deleted`).
 *
 * Delivery is at least once: after a relay restart, messages repeat. Within a topic and a
 * project they arrive in log order, so the table skips any message whose (position, part) is not
 * after the last one it applied for that topic and project. That is the whole dedupe rule.
 */
export class LabelTable {
  /** answers by `project|record|task|source|annotator` */
  private readonly answers = new Map<string, LabelRow[]>();
  private readonly lastApplied = new Map<string, { tx: bigint; seq: bigint; part: number }>();
  /** messages applied and repeats skipped so far */
  applied = 0;
  duplicatesSkipped = 0;

  /** Applies one message; returns false when it was a repeat (or a type the table ignores). */
  apply(topic: string, event: IntegrationEvent): boolean {
    const key = `${topic}|${event.projectId}`;
    const [tx, seq] = event.position.split('/').map((x) => BigInt(x)) as [bigint, bigint];
    const last = this.lastApplied.get(key);
    if (last && (tx < last.tx || (tx === last.tx && (seq < last.seq || (seq === last.seq && event.part <= last.part))))) {
      this.duplicatesSkipped++;
      return false;
    }
    this.lastApplied.set(key, { tx, seq, part: event.part });
    this.applied++;
    const p = event.projectId;
    switch (event.type) {
      case 'record.labeled': {
        const d = event.data;
        this.setAnswer(p, d.recordId, d.taskId, 'manual', d.annotator, d.labelIds, d.spans);
        return true;
      }
      case 'gold_label.set': {
        const d = event.data;
        // One gold answer per record and task, whoever decided it.
        for (const k of this.keys((r) => r.projectId === p && r.recordId === d.recordId && r.taskId === d.taskId && r.source === 'gold')) this.answers.delete(k);
        this.setAnswer(p, d.recordId, d.taskId, 'gold', d.decidedBy, d.labelIds, d.spans);
        return true;
      }
      case 'gold_label.cleared': {
        const d = event.data;
        for (const k of this.keys((r) => r.projectId === p && r.recordId === d.recordId && r.taskId === d.taskId && r.source === 'gold')) this.answers.delete(k);
        return true;
      }
      case 'labels.merged': {
        const d = event.data;
        const sources = new Set(d.sourceLabelIds);
        for (const [k, rows] of this.answers) {
          if (rows[0]!.projectId !== p || rows[0]!.taskId !== d.taskId) continue;
          const merged: LabelRow[] = [];
          for (const row of rows) {
            const next = sources.has(row.labelId) ? { ...row, labelId: d.targetLabelId } : row;
            // an answer that had a source and the target holds the target once
            if (!merged.some((m) => m.labelId === next.labelId && m.spanStart === next.spanStart && m.spanEnd === next.spanEnd)) merged.push(next);
          }
          this.answers.set(k, merged);
        }
        return true;
      }
      case 'label.removed': {
        const d = event.data;
        for (const [k, rows] of this.answers) {
          if (rows[0]!.projectId !== p || rows[0]!.taskId !== d.taskId) continue;
          const kept = rows.filter((r) => r.labelId !== d.labelId);
          if (kept.length === 0) this.answers.delete(k);
          else this.answers.set(k, kept);
        }
        return true;
      }
      case 'labeling_task.removed': {
        const d = event.data;
        for (const k of this.keys((r) => r.projectId === p && r.taskId === d.taskId)) this.answers.delete(k);
        return true;
      }
      case 'project.deleted':
        for (const k of this.keys((r) => r.projectId === p)) this.answers.delete(k);
        return true;
      default:
        return true;
    }
  }

  /** Every row, sorted (project, record, task, source, annotator, label, span). */
  rows(projectId?: string): LabelRow[] {
    const out: LabelRow[] = [];
    for (const rows of this.answers.values()) if (!projectId || rows[0]!.projectId === projectId) out.push(...rows);
    return out.sort(compareRows);
  }

  private setAnswer(
    projectId: string,
    recordId: string,
    taskId: string,
    source: 'manual' | 'gold',
    annotator: string,
    labelIds: readonly string[],
    spans: readonly { labelId: string; start: number; end: number; tokenStart: number; tokenEnd: number }[],
  ): void {
    const key = [projectId, recordId, taskId, source, annotator].join('|');
    const base = { projectId, recordId, taskId, source, annotator };
    const rows: LabelRow[] = [
      ...labelIds.map((labelId) => ({ ...base, labelId, spanStart: null, spanEnd: null, tokenStart: null, tokenEnd: null })),
      ...spans.map((s) => ({ ...base, labelId: s.labelId, spanStart: s.start, spanEnd: s.end, tokenStart: s.tokenStart, tokenEnd: s.tokenEnd })),
    ];
    if (rows.length === 0) this.answers.delete(key);
    else this.answers.set(key, rows);
  }

  private keys(match: (row: LabelRow) => boolean): string[] {
    return [...this.answers].filter(([, rows]) => match(rows[0]!)).map(([k]) => k);
  }
}

export function compareRows(a: LabelRow, b: LabelRow): number {
  const fields: (keyof LabelRow)[] = ['projectId', 'recordId', 'taskId', 'source', 'annotator', 'labelId', 'spanStart', 'spanEnd'];
  for (const f of fields) {
    const x = a[f] ?? -1;
    const y = b[f] ?? -1;
    if (x < y) return -1;
    if (x > y) return 1;
  }
  return 0;
}
