import { defineStore } from 'pinia';
import { ref } from 'vue';
import * as api from '../api/client';
import { toApiError, type ApiError } from '../api/errors';
import type {
  Heuristic,
  HeuristicLanguage,
  HeuristicRun,
  HeuristicRunStatus,
  LookupList,
  LookupListInput,
  NewHeuristic,
  TaskKind,
  WriteResult,
} from '../api/types';
import { useConsistencyStore } from './consistency';

/** How often an active run is polled. */
export const RUN_POLL_INTERVAL_MS = 500;
/** The size of a "Run on a sample" preview run. */
export const SAMPLE_SIZE = 100;

const FINISHED: ReadonlySet<HeuristicRunStatus> = new Set(['completed', 'failed', 'cancelled']);
export const isRunFinished = (run: HeuristicRun | null | undefined): boolean => !!run && FINISHED.has(run.status);

/** A starting point for a labeling function, per language and task kind (classification or spans). */
export function heuristicTemplate(language: HeuristicLanguage, kind: TaskKind, labelName = 'LABEL', attribute = 'text'): string {
  const label = JSON.stringify(labelName);
  const attr = JSON.stringify(attribute);
  if (language === 'python') {
    return kind === 'span'
      ? `import re\n\nPATTERN = re.compile(r"\\b[A-Z][a-z]+\\b")\n\ndef lf(record):\n    text = record[${attr}] or ""\n    for m in PATTERN.finditer(text):\n        yield {"label": ${label}, "start": m.start(), "end": m.end()}\n`
      : `def lf(record):\n    text = (record[${attr}] or "").lower()\n    if "keyword" in text:\n        return ${label}\n    # no return = abstain\n`;
  }
  const typed = language === 'typescript';
  const rec = typed ? 'record: Record<string, unknown>' : 'record';
  if (kind === 'span') {
    return `const PATTERN = /\\b[A-Z][a-z]+\\b/g;\n\nfunction* lf(${rec}) {\n  const text = String(record[${attr}] ?? '');\n  for (const m of text.matchAll(PATTERN)) {\n    yield { label: ${label}, start: m.index${typed ? '!' : ''}, end: m.index${typed ? '!' : ''} + m[0].length };\n  }\n}\n`;
  }
  return `function lf(${rec}${typed ? ': string | undefined' : ''}) {\n  const text = String(record[${attr}] ?? '').toLowerCase();\n  if (text.includes('keyword')) return ${label};\n  return undefined; // abstain\n}\n`;
}

/**
 * The heuristics of the open project with their latest runs and statistics, plus its lookup lists.
 * Runs started here are polled every {@link RUN_POLL_INTERVAL_MS} until they finish.
 */
export const useHeuristicsStore = defineStore('heuristics', () => {
  const consistency = useConsistencyStore();

  const projectId = ref<string | null>(null);
  const heuristics = ref<Heuristic[]>([]);
  const lookupLists = ref<LookupList[]>([]);
  const loading = ref(false);
  const loaded = ref(false);
  const error = ref<ApiError | null>(null);
  /** The run being watched per heuristic (the latest one started or polled here). */
  const runs = ref<Record<string, HeuristicRun>>({});
  /** Poll failures per heuristic. */
  const runErrors = ref<Record<string, ApiError>>({});

  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  let token = 0;

  async function load(): Promise<void> {
    const id = projectId.value;
    if (!id) return;
    const mine = ++token;
    loading.value = true;
    try {
      const [list, lists] = await Promise.all([api.listHeuristics(id, { after: consistency.after }), api.listLookupLists(id, { after: consistency.after })]);
      if (mine !== token) return;
      heuristics.value = list;
      lookupLists.value = lists;
      error.value = null;
      loaded.value = true;
      for (const h of list) {
        const run = h.latestRun;
        if (run && !isRunFinished(run) && !timers.has(h.id)) {
          runs.value[h.id] = run;
          schedulePoll(h.id, run.runId);
        }
      }
    } catch (e) {
      if (mine === token) error.value = toApiError(e);
    } finally {
      if (mine === token) loading.value = false;
    }
  }

  async function open(id: string): Promise<void> {
    if (projectId.value !== id) {
      stopPolling();
      heuristics.value = [];
      lookupLists.value = [];
      runs.value = {};
      runErrors.value = {};
      loaded.value = false;
    }
    projectId.value = id;
    await load();
  }

  function requireProject(): string {
    if (!projectId.value) throw new Error('No project is open');
    return projectId.value;
  }

  async function write<T extends WriteResult>(run: (projectId: string) => Promise<T>): Promise<T> {
    const result = await run(requireProject());
    consistency.observe(result.position);
    await load();
    return result;
  }

  async function create(input: NewHeuristic): Promise<string> {
    return (await write((p) => api.createHeuristic(p, { ...input, name: input.name.trim() }))).id;
  }

  const saveCode = (heuristicId: string, code: string) => write((p) => api.updateHeuristic(p, heuristicId, { code })).then(() => undefined);
  const rename = (heuristicId: string, name: string) => write((p) => api.updateHeuristic(p, heuristicId, { name: name.trim() })).then(() => undefined);

  async function remove(heuristicId: string): Promise<void> {
    stopPolling(heuristicId);
    await write((p) => api.deleteHeuristic(p, heuristicId));
    delete runs.value[heuristicId];
  }

  function schedulePoll(heuristicId: string, runId: string): void {
    const existing = timers.get(heuristicId);
    if (existing) clearTimeout(existing);
    timers.set(
      heuristicId,
      setTimeout(() => void poll(heuristicId, runId), RUN_POLL_INTERVAL_MS),
    );
  }

  async function poll(heuristicId: string, runId: string): Promise<void> {
    const p = projectId.value;
    if (!p) return;
    try {
      const run = await api.getHeuristicRun(p, heuristicId, runId, { after: consistency.after });
      if (runs.value[heuristicId]?.runId !== runId && runs.value[heuristicId]) return; // a newer run replaced it
      runs.value[heuristicId] = run;
      delete runErrors.value[heuristicId];
      if (isRunFinished(run)) {
        timers.delete(heuristicId);
        await load();
        return;
      }
    } catch (e) {
      runErrors.value[heuristicId] = toApiError(e);
      if (runErrors.value[heuristicId].status === 404 || runErrors.value[heuristicId].status === 410) {
        timers.delete(heuristicId);
        return;
      }
    }
    if (projectId.value === p && timers.has(heuristicId)) schedulePoll(heuristicId, runId);
  }

  /** Requests a run (a preview over the first `sample` records if given) and polls it until it finishes. */
  async function run(heuristicId: string, options: { sample?: number } = {}): Promise<string> {
    const p = requireProject();
    const result = await api.runHeuristic(p, heuristicId, options);
    consistency.observe(result.position);
    runs.value[heuristicId] = {
      runId: result.runId,
      heuristicId,
      codeHash: '',
      sample: options.sample ?? null,
      status: 'requested',
      done: 0,
      total: null,
      requestedAt: new Date().toISOString(),
      requestedBy: '',
      finishedAt: null,
      durationMs: null,
      counts: null,
      votesArtifact: null,
      error: null,
    };
    delete runErrors.value[heuristicId];
    schedulePoll(heuristicId, result.runId);
    return result.runId;
  }

  async function cancel(heuristicId: string): Promise<void> {
    const current = runs.value[heuristicId];
    if (!current || isRunFinished(current)) return;
    const result = await api.cancelHeuristicRun(requireProject(), heuristicId, current.runId);
    consistency.observe(result.position);
  }

  function stopPolling(heuristicId?: string): void {
    for (const [id, timer] of timers) {
      if (heuristicId !== undefined && id !== heuristicId) continue;
      clearTimeout(timer);
      timers.delete(id);
    }
  }

  const normalizeList = (list: LookupListInput): LookupListInput => ({
    name: list.name.trim(),
    terms: list.terms.map((t) => t.trim()).filter((t) => t !== ''),
    caseInsensitive: list.caseInsensitive ?? true,
    wholeWord: list.wholeWord ?? true,
  });
  const createLookupList = async (list: LookupListInput) => (await write((p) => api.createLookupList(p, normalizeList(list)))).id;
  const saveLookupList = (listId: string, list: LookupListInput) => write((p) => api.saveLookupList(p, listId, normalizeList(list))).then(() => undefined);
  const removeLookupList = (listId: string) => write((p) => api.deleteLookupList(p, listId)).then(() => undefined);

  return {
    projectId,
    heuristics,
    lookupLists,
    loading,
    loaded,
    error,
    runs,
    runErrors,
    open,
    load,
    create,
    saveCode,
    rename,
    remove,
    run,
    cancel,
    stopPolling,
    createLookupList,
    saveLookupList,
    removeLookupList,
  };
});
