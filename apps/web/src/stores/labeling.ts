import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import * as api from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import type {
  Answer,
  AnswerInput,
  LabelingSession,
  LabelingTask,
  RecordItem,
  RecordLabels,
  RecordTokens,
  SpanInput,
  WriteResult,
} from '../api/types';
import { spanTokenRange } from '../composables/useSpanSelection';
import { useConsistencyStore } from './consistency';

/** The annotator name the server gives requests without a signed-in user. */
export const ANONYMOUS = 'anonymous';
const PAGE = 100;

export interface UndoEntry {
  index: number;
  recordId: string;
  taskId: string;
  previous: AnswerInput;
}

export interface TaskError {
  taskId: string;
  error: ApiError;
}

function emptyAnswer(): AnswerInput {
  return { labelIds: [], spans: [] };
}

function sameAnswer(a: AnswerInput, b: AnswerInput): boolean {
  const labels = (x: AnswerInput) => [...(x.labelIds ?? [])].sort().join(',');
  const spans = (x: AnswerInput) =>
    (x.spans ?? [])
      .map((s) => `${s.labelId}:${s.start}:${s.end}`)
      .sort()
      .join(',');
  return labels(a) === labels(b) && spans(a) === spans(b);
}

/** The body for PUT .../labels/:taskId: label ids for classification, spans for span tasks. */
export function answerBody(task: Pick<LabelingTask, 'kind'>, answer: AnswerInput): AnswerInput {
  if (task.kind === 'span') return { spans: (answer.spans ?? []).map(({ labelId, start, end }) => ({ labelId, start, end })) };
  return { labelIds: [...(answer.labelIds ?? [])] };
}

/** New label ids after pressing a label: single-label selects (or clears if already chosen), multi-label toggles. */
export function toggledLabelIds(task: Pick<LabelingTask, 'kind'>, current: string[], labelId: string): string[] {
  const has = current.includes(labelId);
  if (task.kind === 'single_label') return has ? [] : [labelId];
  return has ? current.filter((id) => id !== labelId) : [...current, labelId];
}

/**
 * The labeling view's state: which record is open (in import order, or in a session's order),
 * its values, tokens and labels, and the caller's writes with an undo stack.
 * Record ids are paged in with the server's cursors as the annotator moves forward.
 */
export const useLabelingStore = defineStore('labeling', () => {
  const consistency = useConsistencyStore();

  const projectId = ref<string | null>(null);
  const sessionId = ref<string | null>(null);
  const session = ref<LabelingSession | null>(null);
  /** The caller's user id as the server names annotators (`anonymous` when it does not know the caller). */
  const me = ref(ANONYMOUS);

  const ids = ref<string[]>([]);
  const total = ref(0);
  const index = ref(0);
  let nextCursor: string | null = null;
  let exhausted = false;
  const values = new Map<string, RecordItem>();

  const record = ref<RecordItem | null>(null);
  const labels = ref<RecordLabels | null>(null);
  const tokens = ref<Record<string, RecordTokens>>({});
  const loading = ref(false);
  const error = ref<ApiError | null>(null);
  const saving = ref(false);
  const taskError = ref<TaskError | null>(null);
  const conflict = ref<string | null>(null);
  const undoStack = ref<UndoEntry[]>([]);
  /** Attributes whose tokens the open tasks need (span tasks). */
  const tokenAttributes = ref<string[]>([]);

  const position = computed(() => (total.value === 0 ? 0 : index.value + 1));
  const hasPrevious = computed(() => index.value > 0);
  const hasNext = computed(() => index.value + 1 < total.value);
  const canUndo = computed(() => undoStack.value.length > 0);

  let recordToken = 0;

  function reset(): void {
    ids.value = [];
    total.value = 0;
    index.value = 0;
    nextCursor = null;
    exhausted = false;
    values.clear();
    record.value = null;
    labels.value = null;
    tokens.value = {};
    error.value = null;
    taskError.value = null;
    conflict.value = null;
    undoStack.value = [];
    session.value = null;
  }

  async function loadPage(): Promise<void> {
    const project = projectId.value;
    if (!project || exhausted) return;
    if (sessionId.value) {
      const page = await api.listSessionRecords(project, sessionId.value, { cursor: nextCursor, limit: PAGE, direction: 'next', after: consistency.after });
      ids.value = [...ids.value, ...page.recordIds];
      nextCursor = page.nextCursor;
    } else {
      const page = await api.listRecords(project, { limit: PAGE, cursor: nextCursor, after: consistency.after });
      for (const item of page.records) values.set(item.id, item);
      ids.value = [...ids.value, ...page.records.map((r) => r.id)];
      total.value = page.total;
      nextCursor = page.nextCursor;
    }
    if (nextCursor === null) {
      exhausted = true;
      total.value = ids.value.length;
    }
  }

  async function ensureLoaded(target: number): Promise<void> {
    while (ids.value.length <= target && !exhausted) {
      const before = ids.value.length;
      await loadPage();
      if (ids.value.length === before && !exhausted) break;
    }
  }

  async function refreshSession(): Promise<void> {
    if (!projectId.value || !sessionId.value) return;
    try {
      session.value = await api.getSession(projectId.value, sessionId.value, { after: consistency.after });
      if (session.value.total > total.value) total.value = session.value.total;
    } catch {
      // Progress is a nicety; the labeling itself goes on.
    }
  }

  /** Opens the project's records (import order) or a session's records and shows the first one. */
  async function open(project: string, options: { sessionId?: string | null; startAt?: number } = {}): Promise<void> {
    reset();
    projectId.value = project;
    sessionId.value = options.sessionId ?? null;
    loading.value = true;
    try {
      me.value = (await api.whoAmI()) ?? ANONYMOUS;
      if (sessionId.value) {
        session.value = await api.getSession(project, sessionId.value, { after: consistency.after });
        total.value = session.value.total;
        // Without a signed-in user the session's owner is how the server names our answers
        // (a team session has other members: a signed-in caller is always themself).
        if (session.value.owner && me.value === ANONYMOUS) me.value = session.value.owner;
      }
      await ensureLoaded(options.startAt ?? 0);
    } catch (e) {
      error.value = toApiError(e);
      loading.value = false;
      return;
    }
    loading.value = false;
    if (ids.value.length > 0) await go(options.startAt ?? 0);
  }

  /** Counts our label writes: a labels read started before a later write must not undo it on screen. */
  let writeSeq = 0;

  async function fetchLabels(recordId: string, mine: number): Promise<void> {
    const project = projectId.value!;
    const seq = writeSeq;
    const result = await api.getRecordLabels(project, recordId, { after: consistency.after });
    if (mine === recordToken && seq === writeSeq) labels.value = result;
  }

  async function fetchTokens(recordId: string, mine: number): Promise<void> {
    const project = projectId.value!;
    const loaded = await Promise.all(tokenAttributes.value.map((attribute) => api.getTokens(project, recordId, attribute)));
    if (mine !== recordToken) return;
    tokens.value = Object.fromEntries(loaded.map((t) => [t.attribute, t]));
  }

  /** Shows record number `target` (0-based) of the list. */
  async function go(target: number): Promise<void> {
    if (!projectId.value) return;
    const mine = ++recordToken;
    loading.value = true;
    taskError.value = null;
    conflict.value = null;
    try {
      await ensureLoaded(target);
      const clamped = Math.min(Math.max(target, 0), Math.max(ids.value.length - 1, 0));
      const id = ids.value[clamped];
      if (id === undefined) {
        if (mine === recordToken) record.value = null;
        return;
      }
      index.value = clamped;
      if (record.value?.id !== id) {
        labels.value = null;
        tokens.value = {};
      }
      const cached = values.get(id);
      const [item] = await Promise.all([
        cached ? Promise.resolve(cached) : api.getRecord(projectId.value, id),
        fetchLabels(id, mine),
        fetchTokens(id, mine),
      ]);
      if (mine !== recordToken) return;
      values.set(id, item);
      record.value = item;
      error.value = null;
    } catch (e) {
      if (mine === recordToken) error.value = toApiError(e);
    } finally {
      if (mine === recordToken) loading.value = false;
    }
  }

  const next = () => (hasNext.value ? go(index.value + 1) : Promise.resolve());
  const previous = () => (hasPrevious.value ? go(index.value - 1) : Promise.resolve());

  /** Reloads the open record's labels (e.g. after a conflict). */
  async function reloadLabels(): Promise<void> {
    const id = record.value?.id;
    if (!id) return;
    try {
      await fetchLabels(id, recordToken);
    } catch (e) {
      error.value = toApiError(e);
    }
  }

  function answersFor(taskId: string): Answer[] {
    return labels.value?.answers.filter((a) => a.taskId === taskId) ?? [];
  }

  /** The caller's current answer for a task on the open record. */
  function myAnswer(taskId: string): AnswerInput {
    const answer = answersFor(taskId).find((a) => a.source === 'manual' && a.annotator === me.value);
    return answer ? { labelIds: [...answer.labelIds], spans: answer.spans.map((s) => ({ ...s })) } : emptyAnswer();
  }

  /** Puts the new answer into the local labels so the screen follows at once. */
  function applyLocally(task: LabelingTask, answer: AnswerInput, revision: string): void {
    if (!labels.value) return;
    const attributeTokens = task.attribute ? tokens.value[task.attribute]?.tokens ?? [] : [];
    const spans = (answer.spans ?? []).map((s) => ({ ...s, ...spanTokenRange(attributeTokens, s) }));
    const others = labels.value.answers.filter((a) => !(a.taskId === task.id && a.source === 'manual' && a.annotator === me.value));
    const empty = (answer.labelIds ?? []).length === 0 && spans.length === 0;
    const mine: Answer[] = empty
      ? []
      : [{ taskId: task.id, source: 'manual', annotator: me.value, labelIds: answer.labelIds ?? [], spans, labeledAt: new Date().toISOString() }];
    labels.value = { ...labels.value, revision, answers: [...others, ...mine] };
  }

  /**
   * Sets the caller's whole answer for a task. Returns true when stored.
   * A stale revision (someone else wrote meanwhile) reloads the labels and sets `conflict`.
   */
  async function setAnswer(task: LabelingTask, answer: AnswerInput, options: { undoable?: boolean } = {}): Promise<boolean> {
    const project = projectId.value;
    const current = record.value;
    if (!project || !current) return false;
    const previous = myAnswer(task.id);
    const body = answerBody(task, answer);
    if (sameAnswer(previous, body)) return true;
    saving.value = true;
    taskError.value = null;
    conflict.value = null;
    const mine = recordToken;
    try {
      const result = await api.putAnswer(project, current.id, task.id, body, labels.value?.revision ?? null);
      writeSeq++;
      consistency.observe(result.position);
      if (options.undoable !== false) {
        undoStack.value = [...undoStack.value.slice(-99), { index: index.value, recordId: current.id, taskId: task.id, previous: answerBody(task, previous) }];
      }
      if (mine === recordToken) {
        applyLocally(task, body, result.revision);
        // Refresh reference/disagreement in the background; the local answer is already shown.
        void fetchLabels(current.id, mine).catch(() => undefined);
      }
      void refreshSession();
      return true;
    } catch (e) {
      const apiError = toApiError(e);
      if (apiError.status === 409 && apiError.code === 'stale_revision') {
        conflict.value = 'Someone else changed the labels of this record meanwhile. They have been reloaded; check them and apply your change again.';
        await reloadLabels();
      } else {
        taskError.value = { taskId: task.id, error: apiError };
      }
      return false;
    } finally {
      saving.value = false;
    }
  }

  function toggleLabel(task: LabelingTask, labelId: string): Promise<boolean> {
    const current = myAnswer(task.id).labelIds ?? [];
    return setAnswer(task, { labelIds: toggledLabelIds(task, current, labelId) });
  }

  function addSpan(task: LabelingTask, span: SpanInput): Promise<boolean> {
    const spans = myAnswer(task.id).spans ?? [];
    return setAnswer(task, { spans: [...spans, span] });
  }

  function removeSpan(task: LabelingTask, span: SpanInput): Promise<boolean> {
    const spans = (myAnswer(task.id).spans ?? []).filter((s) => !(s.labelId === span.labelId && s.start === span.start && s.end === span.end));
    return setAnswer(task, { spans });
  }

  /** Re-puts the answer before the last change (going back to that record first if needed). */
  async function undo(tasks: LabelingTask[]): Promise<boolean> {
    const entry = undoStack.value[undoStack.value.length - 1];
    if (!entry) return false;
    const task = tasks.find((t) => t.id === entry.taskId);
    undoStack.value = undoStack.value.slice(0, -1);
    if (!task) return false;
    if (record.value?.id !== entry.recordId) {
      const at = ids.value.indexOf(entry.recordId);
      await go(at >= 0 ? at : entry.index);
      if (record.value?.id !== entry.recordId) return false;
    }
    const ok = await setAnswer(task, entry.previous, { undoable: false });
    if (!ok) undoStack.value = [...undoStack.value, entry];
    return ok;
  }

  async function recordWrite(taskId: string | null, run: (project: string, recordId: string) => Promise<WriteResult>): Promise<boolean> {
    const project = projectId.value;
    const current = record.value;
    if (!project || !current) return false;
    taskError.value = null;
    try {
      const result = await run(project, current.id);
      consistency.observe(result.position);
      await fetchLabels(current.id, recordToken);
      return true;
    } catch (e) {
      taskError.value = { taskId: taskId ?? '', error: toApiError(e) };
      return false;
    }
  }

  const setGold = (task: LabelingTask, answer: AnswerInput) => recordWrite(task.id, (p, r) => api.putGold(p, r, task.id, answerBody(task, answer)));
  const clearGold = (task: LabelingTask) => recordWrite(task.id, (p, r) => api.deleteGold(p, r, task.id));

  /** Comments: errors are rethrown for the form to show. */
  async function addComment(body: string): Promise<void> {
    const project = projectId.value;
    const current = record.value;
    if (!project || !current) return;
    const result = await api.addComment(project, current.id, body);
    consistency.observe(result.position);
    await fetchLabels(current.id, recordToken);
  }

  async function removeComment(commentId: string): Promise<void> {
    const project = projectId.value;
    const current = record.value;
    if (!project || !current) return;
    const result = await api.deleteComment(project, current.id, commentId);
    consistency.observe(result.position);
    await fetchLabels(current.id, recordToken);
  }

  return {
    projectId,
    sessionId,
    session,
    me,
    ids,
    total,
    index,
    record,
    labels,
    tokens,
    loading,
    error,
    saving,
    taskError,
    conflict,
    undoStack,
    tokenAttributes,
    position,
    hasPrevious,
    hasNext,
    canUndo,
    open,
    go,
    next,
    previous,
    reloadLabels,
    answersFor,
    myAnswer,
    setAnswer,
    toggleLabel,
    addSpan,
    removeSpan,
    undo,
    setGold,
    clearGold,
    addComment,
    removeComment,
  };
});
