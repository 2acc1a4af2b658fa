import type { ArtifactStore, Recorded, VotesArtifact, WeakLabelsArtifact } from '@refinery/events';
import {
  integrationEventDefinition,
  TOPICS,
  type Envelope,
  type IntegrationData,
  type IntegrationEventType,
  type TopicName,
} from '@refinery/integration-events';

/**
 * Internal log events → public integration events (libs/integration-events). Only what other
 * systems should see leaves the product: no code, no credentials, no comments, no UI details.
 */

/** Log event types the relay reads; every other type is skipped (its position still counts). */
export const RELAYED_EVENT_TYPES = [
  'ProjectCreated',
  'ProjectRenamed',
  'ProjectDeleted',
  'LabelingTaskAdded',
  'LabelingTaskRenamed',
  'LabelingTaskRemoved',
  'LabelAdded',
  'LabelChanged',
  'LabelsMerged',
  'LabelRemoved',
  'RecordLabeled',
  'GoldLabelSet',
  'GoldLabelCleared',
  'RecordImportStarted',
  'RecordsImported',
  'RecordImportCompleted',
  'HeuristicCreated',
  'HeuristicDeleted',
  'HeuristicRunRequested',
  'HeuristicRunCompleted',
  'HeuristicRunFailed',
  'HeuristicRunCancelled',
  'WeakSupervisionCompleted',
  'WeakSupervisionFailed',
  'MemberAdded',
  'MemberRoleChanged',
  'MemberRemoved',
] as const;

const PROJECT_TOPICS: readonly TopicName[] = [TOPICS.projects, TOPICS.labels, TOPICS.records, TOPICS.heuristicRuns, TOPICS.weakLabels, TOPICS.membership];

/** One Kafka message, before the topic prefix is applied. */
export interface OutgoingMessage {
  topic: TopicName;
  /** the project id: the partition key */
  key: string;
  value: string;
  type: string;
  version: number;
  /** the source log event */
  eventId: string;
  part: number;
}

/** The event cannot be turned into a valid integration event (a bug or bad data): dead-lettered. */
export class UntranslatableEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UntranslatableEventError';
  }
}

export interface MappingContext {
  artifacts: ArtifactStore;
  /** target size of one part when an event is split (bytes of JSON data, default 256 KiB) */
  partBytes?: number;
}

/** `topic` overrides the type's own topic (project.deleted goes to every topic). */
type Part<T extends IntegrationEventType> = { type: T; data: IntegrationData<T>; topic?: TopicName };

/** The messages one log event becomes, in order (usually one; none for a type not published). */
export async function toIntegrationMessages(event: Recorded, ctx: MappingContext): Promise<OutgoingMessage[]> {
  const parts = await translate(event, ctx);
  const out: OutgoingMessage[] = [];
  const projectId = (event.data as { projectId?: unknown }).projectId;
  if (typeof projectId !== 'string') throw new UntranslatableEventError(`${event.type} ${event.id} has no projectId`);
  for (let i = 0; i < parts.length; i++) {
    const { type, data, topic } = parts[i]!;
    const definition = integrationEventDefinition(type, 1)!;
    // Validated on the way out: a message that does not match its published schema is never sent.
    const parsed = definition.data.safeParse(data);
    if (!parsed.success) {
      throw new UntranslatableEventError(
        `${event.type} ${event.id} → ${type} v1 does not match its schema: ${parsed.error.issues.map((x) => `${x.path.join('.') || '(root)'}: ${x.message}`).join('; ')}`,
      );
    }
    const envelope: Envelope = {
      id: parts.length === 1 ? event.id : `${event.id}#${i}`,
      type,
      version: definition.version,
      projectId,
      position: event.position,
      part: i,
      parts: parts.length,
      occurredAt: event.meta.at,
      actor: event.meta.actor,
      data: parsed.data,
    };
    out.push({ topic: topic ?? definition.topic, key: projectId, value: JSON.stringify(envelope), type, version: definition.version, eventId: event.id, part: i });
  }
  return out;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the switch narrows by type; data shapes are checked by the catalog on read
type AnyData = any;

async function translate(event: Recorded, ctx: MappingContext): Promise<Part<IntegrationEventType>[]> {
  const d = event.data as AnyData;
  const one = <T extends IntegrationEventType>(type: T, data: IntegrationData<T>): Part<IntegrationEventType>[] => [{ type, data } as Part<IntegrationEventType>];
  switch (event.type) {
    case 'ProjectCreated':
      return one('project.created', { name: d.name });
    case 'ProjectRenamed':
      return one('project.renamed', { name: d.name });
    case 'ProjectDeleted':
      // On every topic, so a consumer of any one topic can drop the project in order with its other messages.
      return PROJECT_TOPICS.map((topic) => ({ type: 'project.deleted', data: {}, topic }));
    case 'LabelingTaskAdded':
      return one('labeling_task.added', { taskId: d.taskId, name: d.name, kind: d.kind, attribute: d.attribute, allowOverlap: d.allowOverlap });
    case 'LabelingTaskRenamed':
      return one('labeling_task.renamed', { taskId: d.taskId, name: d.name });
    case 'LabelingTaskRemoved':
      return one('labeling_task.removed', { taskId: d.taskId });
    case 'LabelAdded':
    case 'LabelChanged':
      return one(event.type === 'LabelAdded' ? 'label.added' : 'label.changed', {
        taskId: d.taskId,
        labelId: d.labelId,
        name: d.name,
        color: d.color,
        description: d.description,
      });
    case 'LabelsMerged':
      return one('labels.merged', { taskId: d.taskId, sourceLabelIds: d.sourceLabelIds, targetLabelId: d.targetLabelId });
    case 'LabelRemoved':
      return one('label.removed', { taskId: d.taskId, labelId: d.labelId });
    case 'RecordLabeled':
      return one('record.labeled', { recordId: d.recordId, taskId: d.taskId, annotator: d.annotator, labelIds: d.labelIds, spans: d.spans });
    case 'GoldLabelSet':
      return one('gold_label.set', { recordId: d.recordId, taskId: d.taskId, decidedBy: event.meta.actor, labelIds: d.labelIds, spans: d.spans });
    case 'GoldLabelCleared':
      return one('gold_label.cleared', { recordId: d.recordId, taskId: d.taskId });
    case 'RecordImportStarted':
      return one('record_import.started', {
        importId: d.importId,
        format: d.format,
        attributes: d.attributes,
        primaryKey: d.primaryKey,
        recordCount: d.recordCount,
        fileName: d.fileName,
      });
    case 'RecordsImported':
      return splitBySize(d.records as { id: string; values: Record<string, unknown> }[], ctx.partBytes ?? 256 * 1024).map((records) => ({
        type: 'records.imported',
        data: { importId: d.importId, records } as IntegrationData<'records.imported'>,
      }));
    case 'RecordImportCompleted':
      return one('record_import.completed', { importId: d.importId, recordCount: d.recordCount });
    case 'HeuristicCreated':
      // heuristic.created v1 predates crowd heuristics (its `type` has no `crowd`); they have no
      // runs or votes to publish either, so they are not published (docs/crowd.md)
      if (d.type === 'crowd') return [];
      return one('heuristic.created', { heuristicId: d.heuristicId, name: d.name, taskId: d.taskId, type: d.type, language: d.language ?? null });
    case 'HeuristicDeleted':
      return one('heuristic.deleted', { heuristicId: d.heuristicId });
    case 'HeuristicRunRequested':
      return one('heuristic_run.requested', { heuristicId: d.heuristicId, runId: d.runId, codeHash: d.codeHash, sample: d.sample ?? null });
    case 'HeuristicRunCompleted': {
      const completed: Part<IntegrationEventType> = {
        type: 'heuristic_run.completed',
        data: {
          heuristicId: d.heuristicId,
          runId: d.runId,
          codeHash: d.codeHash,
          votesArtifact: d.votesArtifact,
          counts: d.counts,
          durationMs: d.durationMs,
          sample: d.sample ?? null,
        },
      };
      // A preview (sample) replaces nothing, so its votes are not weak labels anyone should keep.
      if (d.sample !== undefined) return [completed];
      return [completed, ...(await weakLabelParts(d.heuristicId, d.runId, d.votesArtifact, ctx))];
    }
    case 'HeuristicRunFailed':
      return one('heuristic_run.failed', {
        heuristicId: d.heuristicId,
        runId: d.runId,
        error: { kind: d.error.kind, message: d.error.message, recordId: d.error.recordId ?? null, line: d.error.line ?? null },
        durationMs: d.durationMs,
      });
    case 'HeuristicRunCancelled':
      return one('heuristic_run.cancelled', { heuristicId: d.heuristicId, runId: d.runId });
    case 'WeakSupervisionCompleted':
      return [
        {
          type: 'weak_supervision.completed',
          data: {
            taskId: d.taskId,
            runId: d.runId,
            model: d.model,
            heuristicIds: (d.heuristics as { heuristicId: string }[]).map((h) => h.heuristicId),
            counts: { records: d.counts.records, covered: d.counts.covered, labeled: d.counts.labeled, byLabel: d.counts.byLabel },
            meanConfidence: d.meanConfidence,
          },
        },
        ...(await weakSupervisionParts(d.taskId, d.runId, d.resultArtifact, ctx)),
      ];
    case 'WeakSupervisionFailed':
      return one('weak_supervision.failed', { taskId: d.taskId, runId: d.runId, error: { kind: d.error.kind, message: d.error.message } });
    case 'MemberAdded':
      return one('member.added', { userId: d.userId, role: d.role });
    case 'MemberRoleChanged':
      return one('member.role_changed', { userId: d.userId, role: d.role, previousRole: d.previousRole });
    case 'MemberRemoved':
      return one('member.removed', { userId: d.userId, previousRole: d.previousRole });
    default:
      return [];
  }
}

/** Consecutive slices whose JSON stays near `targetBytes` (a single huge item stays alone). */
function splitBySize<T>(items: readonly T[], targetBytes: number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    const bytes = Buffer.byteLength(JSON.stringify(item));
    if (current.length > 0 && size + bytes > targetBytes) {
      out.push(current);
      current = [];
      size = 0;
    }
    current.push(item);
    size += bytes + 1;
  }
  if (current.length > 0) out.push(current);
  return out;
}

const VOTES_PER_PART = 2000;

async function weakLabelParts(heuristicId: string, runId: string, hash: string, ctx: MappingContext): Promise<Part<IntegrationEventType>[]> {
  const artifact = await ctx.artifacts.get(hash);
  // A missing artifact is a storage fault, not bad data: fail the batch and retry rather than dead-letter.
  if (!artifact) throw new Error(`votes artifact ${hash} of run ${runId} is missing from the artifact store`);
  let votes: VotesArtifact;
  try {
    votes = JSON.parse(Buffer.from(artifact.bytes).toString('utf8')) as VotesArtifact;
  } catch (err) {
    throw new UntranslatableEventError(`votes artifact ${hash} is not JSON: ${(err as Error).message}`);
  }
  if (votes.format !== 'refinery.heuristic-votes.v1') throw new UntranslatableEventError(`votes artifact ${hash} has unknown format ${String(votes.format)}`);
  const rows = votes.recordIds.map((recordId, i) => {
    const v = votes.votes[i];
    return votes.kind === 'classification'
      ? { recordId, labelId: v as string, spans: null }
      : { recordId, labelId: null, spans: (v as [string, number, number][]).map(([labelId, start, end]) => ({ labelId, start, end })) };
  });
  const parts: Part<IntegrationEventType>[] = [];
  // A run without votes still publishes one (empty) chunk: it replaces the heuristic's earlier votes.
  const chunks = Math.max(1, Math.ceil(rows.length / VOTES_PER_PART));
  for (let chunk = 0; chunk < chunks; chunk++) {
    const slice = rows.slice(chunk * VOTES_PER_PART, (chunk + 1) * VOTES_PER_PART);
    parts.push({ type: 'weak_labels.published', data: { heuristicId, runId, kind: votes.kind, chunk, chunks, votes: slice } });
  }
  return parts;
}

async function weakSupervisionParts(taskId: string, runId: string, hash: string, ctx: MappingContext): Promise<Part<IntegrationEventType>[]> {
  const artifact = await ctx.artifacts.get(hash);
  if (!artifact) throw new Error(`weak-labels artifact ${hash} of run ${runId} is missing from the artifact store`);
  let result: WeakLabelsArtifact;
  try {
    result = JSON.parse(Buffer.from(artifact.bytes).toString('utf8')) as WeakLabelsArtifact;
  } catch (err) {
    throw new UntranslatableEventError(`weak-labels artifact ${hash} is not JSON: ${(err as Error).message}`);
  }
  if (result.format !== 'refinery.weak-labels.v1') throw new UntranslatableEventError(`weak-labels artifact ${hash} has unknown format ${String(result.format)}`);
  const rows = result.recordIds.map((recordId, i) => {
    const labels = result.labels[i];
    const confidences = result.confidences[i];
    if (result.kind === 'extraction') {
      const spans = (labels as [string, number, number, number, number][]).map(([labelId, start, end, tokenStart, tokenEnd], j) => ({
        labelId,
        start,
        end,
        tokenStart,
        tokenEnd,
        confidence: (confidences as number[])[j]!,
      }));
      return { recordId, labels: [], spans };
    }
    if (result.kind === 'multi_label') {
      return { recordId, labels: (labels as string[]).map((labelId, j) => ({ labelId, confidence: (confidences as number[])[j]! })), spans: [] };
    }
    return { recordId, labels: [{ labelId: labels as string, confidence: confidences as number }], spans: [] };
  });
  const chunks = Math.max(1, Math.ceil(rows.length / VOTES_PER_PART));
  const parts: Part<IntegrationEventType>[] = [];
  for (let chunk = 0; chunk < chunks; chunk++) {
    parts.push({
      type: 'weak_supervision_labels.published',
      data: { taskId, runId, kind: result.kind, chunk, chunks, records: rows.slice(chunk * VOTES_PER_PART, (chunk + 1) * VOTES_PER_PART) },
    });
  }
  return parts;
}
