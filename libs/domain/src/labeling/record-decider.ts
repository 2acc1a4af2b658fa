import type { RecordLabelEvent, Span } from '@refinery/events';
import { DomainError } from '../errors.ts';
import { requireLabel, requireTask, type LabelingConfig, type TaskDefinition } from './config.ts';
import { tokenize, tokenRange } from './tokenize.ts';

export interface Answer {
  labelIds: string[];
  spans: Span[];
}

export interface RecordLabelsState {
  /** key: taskId + "\u0000" + annotator */
  answers: Map<string, Answer>;
  gold: Map<string, Answer>;
  comments: Map<string, { author: string }>;
}

export const emptyRecordLabels = (): RecordLabelsState => ({ answers: new Map(), gold: new Map(), comments: new Map() });
const answerKey = (taskId: string, annotator: string) => `${taskId}\u0000${annotator}`;

export interface SpanInput {
  labelId: string;
  start: number;
  end: number;
}

interface RecordRef {
  projectId: string;
  recordId: string;
}

export type RecordLabelCommand =
  | (RecordRef & { type: 'LabelRecord'; taskId: string; annotator: string; labelIds?: string[]; spans?: SpanInput[]; text?: string | null })
  | (RecordRef & { type: 'SetGoldLabel'; taskId: string; labelIds?: string[]; spans?: SpanInput[]; text?: string | null })
  | (RecordRef & { type: 'ClearGoldLabel'; taskId: string })
  | (RecordRef & { type: 'CommentRecord'; commentId: string; body: string })
  | (RecordRef & { type: 'DeleteRecordComment'; commentId: string; actor: string; mayDeleteOthers: boolean });

function invalid(code: string, message: string, details: Record<string, unknown>): never {
  throw new DomainError('invalid', code, message, details);
}

/** Checks an answer against the task and computes token ranges for spans. */
export function normalizeAnswer(task: TaskDefinition, labelIds: string[] = [], spans: SpanInput[] = [], text?: string | null): Answer {
  if (task.kind !== 'span') {
    if (spans.length) invalid('spans_not_allowed', `task "${task.name}" is a classification task: send labelIds, not spans`, { taskId: task.id });
    const unique = [...new Set(labelIds)];
    if (task.kind === 'single_label' && unique.length > 1) {
      invalid('single_label_only', `task "${task.name}" takes one label per record`, { taskId: task.id, labelIds });
    }
    for (const id of unique) requireLabel(task, id);
    return { labelIds: unique.sort(), spans: [] };
  }
  if (labelIds.length) invalid('labels_not_allowed', `task "${task.name}" is a span task: send spans, not labelIds`, { taskId: task.id });
  if (spans.length && typeof text !== 'string') {
    invalid('not_a_text', `the record has no text in attribute "${task.attribute}" to put spans on`, { attribute: task.attribute });
  }
  const tokens = spans.length ? tokenize(text!) : [];
  const out: Span[] = spans.map((s, i) => {
    requireLabel(task, s.labelId);
    if (!Number.isInteger(s.start) || !Number.isInteger(s.end) || s.start < 0 || s.end > text!.length || s.start >= s.end) {
      invalid('span_out_of_range', `span ${i} [${s.start}, ${s.end}) is outside the text (0–${text!.length}) or empty`, {
        index: i,
        start: s.start,
        end: s.end,
        textLength: text!.length,
      });
    }
    const range = tokenRange(tokens, s.start, s.end);
    if (!range) invalid('span_without_tokens', `span ${i} [${s.start}, ${s.end}) covers only whitespace`, { index: i, start: s.start, end: s.end });
    return { labelId: s.labelId, start: s.start, end: s.end, ...range };
  });
  out.sort((a, b) => a.start - b.start || a.end - b.end || a.labelId.localeCompare(b.labelId));
  for (let i = 1; i < out.length; i++) {
    const prev = out[i - 1]!;
    const cur = out[i]!;
    if (prev.start === cur.start && prev.end === cur.end && prev.labelId === cur.labelId) {
      invalid('duplicate_span', `the same span [${cur.start}, ${cur.end}) is given twice`, { start: cur.start, end: cur.end });
    }
    if (!task.allowOverlap && cur.start < prev.end) {
      invalid('span_overlap', `spans [${prev.start}, ${prev.end}) and [${cur.start}, ${cur.end}) overlap, which task "${task.name}" does not allow`, {
        spans: [prev, cur],
      });
    }
  }
  return { labelIds: [], spans: out };
}

const sameAnswer = (a: Answer | undefined, b: Answer) => JSON.stringify(a ?? { labelIds: [], spans: [] }) === JSON.stringify(b);

export function decideRecordLabels(command: RecordLabelCommand, state: RecordLabelsState, config: LabelingConfig): RecordLabelEvent[] {
  const { projectId, recordId } = command;
  switch (command.type) {
    case 'LabelRecord': {
      const task = requireTask(config, projectId, command.taskId);
      const answer = normalizeAnswer(task, command.labelIds, command.spans, command.text);
      if (sameAnswer(state.answers.get(answerKey(task.id, command.annotator)), answer)) return [];
      return [{ type: 'RecordLabeled', data: { projectId, recordId, taskId: task.id, annotator: command.annotator, ...answer } }];
    }
    case 'SetGoldLabel': {
      const task = requireTask(config, projectId, command.taskId);
      const answer = normalizeAnswer(task, command.labelIds, command.spans, command.text);
      if (answer.labelIds.length === 0 && answer.spans.length === 0) {
        invalid('empty_gold', 'a gold decision needs at least one label or span; clear it with DELETE instead', { taskId: task.id });
      }
      if (sameAnswer(state.gold.get(task.id), answer)) return [];
      return [{ type: 'GoldLabelSet', data: { projectId, recordId, taskId: task.id, ...answer } }];
    }
    case 'ClearGoldLabel':
      requireTask(config, projectId, command.taskId);
      if (!state.gold.has(command.taskId)) return [];
      return [{ type: 'GoldLabelCleared', data: { projectId, recordId, taskId: command.taskId } }];
    case 'CommentRecord':
      return [{ type: 'RecordCommented', data: { projectId, recordId, commentId: command.commentId, body: command.body.trim() } }];
    case 'DeleteRecordComment': {
      const comment = state.comments.get(command.commentId);
      if (!comment) throw new DomainError('not_found', 'comment_not_found', `comment ${command.commentId} does not exist on this record`, { commentId: command.commentId });
      if (comment.author !== command.actor && !command.mayDeleteOthers) {
        throw new DomainError('invalid', 'not_comment_author', 'only the author (or a project manager) can delete this comment', { commentId: command.commentId });
      }
      return [{ type: 'RecordCommentDeleted', data: { projectId, recordId, commentId: command.commentId } }];
    }
    default: {
      const unhandled: never = command;
      throw new Error(`unhandled command ${JSON.stringify(unhandled)}`);
    }
  }
}

export function evolveRecordLabels(state: RecordLabelsState, event: { type: string; data: unknown; meta?: { actor: string } }): RecordLabelsState {
  const e = event as RecordLabelEvent & { meta?: { actor: string } };
  switch (e.type) {
    case 'RecordLabeled': {
      const answers = new Map(state.answers);
      answers.set(answerKey(e.data.taskId, e.data.annotator), { labelIds: e.data.labelIds, spans: e.data.spans });
      return { ...state, answers };
    }
    case 'GoldLabelSet': {
      const gold = new Map(state.gold);
      gold.set(e.data.taskId, { labelIds: e.data.labelIds, spans: e.data.spans });
      return { ...state, gold };
    }
    case 'GoldLabelCleared': {
      const gold = new Map(state.gold);
      gold.delete(e.data.taskId);
      return { ...state, gold };
    }
    case 'RecordCommented': {
      const comments = new Map(state.comments);
      comments.set(e.data.commentId, { author: e.meta?.actor ?? 'unknown' });
      return { ...state, comments };
    }
    case 'RecordCommentDeleted': {
      const comments = new Map(state.comments);
      comments.delete(e.data.commentId);
      return { ...state, comments };
    }
    default:
      return state;
  }
}
