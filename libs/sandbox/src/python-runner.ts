import { randomUUID } from 'node:crypto';
import type { HeuristicRunner, HeuristicSource, LookupList, RawBatchResult, RawError, RawSparseResult, RecordLines, SandboxLimits, SandboxRecord, SparseVotes, Vote } from './types.ts';
import { DEFAULT_LIMITS, HeuristicError, linesToRecords } from './types.ts';
import { normalizeLookupList } from './lookup.ts';
import { type PythonPool, type PyWorker, WorkerDied, WorkerTimeout } from './python-pool.ts';
import { VoteValidator, errorFromRaw } from './validate.ts';

export interface PythonRunnerOptions {
  pool: PythonPool;
  lookupLists?: Record<string, LookupList | string[]>;
  limits?: Partial<SandboxLimits>;
  /** Records per message to one worker; a larger runBatch is split over the pool (default 1000). */
  chunkSize?: number;
}

type LoadResult = { ok: true } | { error: RawError };

export class PythonRunner implements HeuristicRunner {
  private readonly id = randomUUID();
  private readonly pool: PythonPool;
  private readonly limits: SandboxLimits;
  private readonly validator: VoteValidator;
  private readonly loadJson: string;
  private readonly chunkSize: number;
  private readonly kind: HeuristicSource['kind'];
  private closed = false;

  private constructor(source: HeuristicSource, options: PythonRunnerOptions) {
    this.pool = options.pool;
    this.limits = { ...DEFAULT_LIMITS, batchOverheadMs: 2000, ...options.limits };
    this.validator = new VoteValidator(source);
    this.kind = source.kind;
    this.chunkSize = Math.max(1, options.chunkSize ?? 1000);
    const lookups: Record<string, Required<LookupList>> = {};
    for (const [name, list] of Object.entries(options.lookupLists ?? {})) lookups[name] = normalizeLookupList(list);
    this.loadJson = JSON.stringify({
      op: 'load',
      id: this.id,
      code: source.code,
      kind: source.kind,
      targetAttribute: source.targetAttribute ?? null,
      lookups,
      setupMs: this.limits.setupMs,
    });
  }

  static async create(source: HeuristicSource, options: PythonRunnerOptions): Promise<PythonRunner> {
    const r = new PythonRunner(source, options);
    // Compile (and run the top level) once now, so syntax errors surface at creation.
    await r.withWorker(async () => undefined);
    return r;
  }

  private async ensureLoaded(w: PyWorker): Promise<void> {
    if (w.loaded.has(this.id)) return;
    let res: LoadResult;
    try {
      res = (await w.request(this.withUnload(w, this.loadJson), this.limits.setupMs + this.limits.batchOverheadMs)) as LoadResult;
    } catch (e) {
      this.pool.discard(w);
      throw this.workerFailure(e, undefined, 'while loading the code');
    }
    if ('error' in res) {
      if (res.error.kind === 'memory' || res.error.kind === 'timeout') this.pool.discard(w);
      throw errorFromRaw(res.error, []);
    }
    w.loaded.add(this.id);
  }

  /** Prefixes pending unloads into a message's JSON text. */
  private withUnload(w: PyWorker, json: string): string {
    if (w.pendingUnload.length === 0) return json;
    const u = JSON.stringify(w.pendingUnload);
    w.pendingUnload = [];
    return `{"unload":${u},${json.slice(1)}`;
  }

  private async withWorker<T>(fn: (w: PyWorker) => Promise<T>): Promise<T> {
    const w = await this.pool.acquire();
    try {
      await this.ensureLoaded(w);
      return await fn(w);
    } finally {
      this.pool.release(w);
    }
  }

  private workerFailure(e: unknown, recordId: string | undefined, during: string): HeuristicError {
    const who = recordId !== undefined ? `record ${JSON.stringify(recordId)}: ` : '';
    const rid = recordId !== undefined ? { recordId } : {};
    if (e instanceof WorkerTimeout) {
      return new HeuristicError({ kind: 'timeout', message: `${who}time limit exceeded ${during} (worker killed and replaced)`, ...rid });
    }
    if (e instanceof WorkerDied) {
      if (e.signal === 'SIGXCPU') return new HeuristicError({ kind: 'timeout', message: `${who}CPU time limit exceeded ${during}`, ...rid });
      return new HeuristicError({ kind: 'runtime', message: `${who}${e.message} ${during}`, ...rid });
    }
    return new HeuristicError({ kind: 'runtime', message: `${who}${(e as Error)?.message ?? String(e)}` , ...rid });
  }

  /** One message to one worker. */
  private async runChunk(records: SandboxRecord[], overheadMs = this.limits.batchOverheadMs): Promise<Vote[]> {
    const P = this.limits.perRecordMs;
    const json = `{"op":"run","id":${JSON.stringify(this.id)},"perRecordMs":${P},"records":${JSON.stringify(records)}}`;
    const w = await this.pool.acquire();
    let res: RawBatchResult;
    try {
      await this.ensureLoaded(w);
      try {
        // Wall-clock watchdog: the worker itself stops after P × n ms of CPU time and may then re-run
        // records alone (up to another P × n), so 2 × P × n plus overhead is only hit by a worker that is
        // stuck outside Python code (a long C call, sleep) or starved of CPU.
        res = (await w.request(this.withUnload(w, json), 2 * P * records.length + overheadMs)) as RawBatchResult;
      } catch (e) {
        this.pool.discard(w);
        if (e instanceof WorkerTimeout && records.length > 1) throw await this.replayForTimeout(records);
        const only = records.length === 1 ? records[0]!.id : undefined;
        throw this.workerFailure(e, only, records.length === 1 ? '' : `in a batch of ${records.length} records`);
      }
      if ('error' in res) {
        if (res.error.kind === 'memory' || res.error.kind === 'timeout') this.pool.discard(w);
        throw errorFromRaw(res.error, records);
      }
    } finally {
      this.pool.release(w);
    }
    return this.validator.finalize(records, res.votes);
  }

  /**
   * Classification fast path (`HeuristicRunner.runLines`): the lines go to one worker as they are
   * (no parse and re-encode here); callers keep several batches in flight to use the whole pool.
   */
  async runLines(batch: RecordLines): Promise<SparseVotes> {
    if (this.kind !== 'classification') throw new TypeError('runLines is for classification heuristics');
    if (this.closed) throw new HeuristicError({ kind: 'runtime', message: 'runner is closed' });
    if (batch.count === 0) return { ids: [], labels: [] };
    const P = this.limits.perRecordMs;
    const head = `{"op":"run_lines","id":${JSON.stringify(this.id)},"perRecordMs":${P}}`;
    const w = await this.pool.acquire();
    let res: RawSparseResult;
    try {
      await this.ensureLoaded(w);
      try {
        res = (await w.request(this.withUnload(w, head), 2 * P * batch.count + this.limits.batchOverheadMs, batch.text)) as RawSparseResult;
      } catch (e) {
        this.pool.discard(w);
        const records = linesToRecords(batch);
        if (e instanceof WorkerTimeout && records.length > 1) throw await this.replayForTimeout(records);
        throw this.workerFailure(e, records.length === 1 ? records[0]!.id : undefined, records.length === 1 ? '' : `in a batch of ${records.length} records`);
      }
      if ('error' in res) {
        if (res.error.kind === 'memory' || res.error.kind === 'timeout') this.pool.discard(w);
        throw errorFromRaw(res.error, linesToRecords(batch));
      }
    } finally {
      this.pool.release(w);
    }
    return this.validator.finalizeSparse(res.ids, res.votes);
  }

  /**
   * The worker did not answer in time (the in-worker alarm did not fire, e.g. a long C-level call).
   * Replays the records one at a time, each with the per-record limit, to find the slow one.
   */
  private async replayForTimeout(records: SandboxRecord[]): Promise<HeuristicError> {
    for (const r of records) {
      try {
        await this.runChunk([r], Math.min(this.limits.batchOverheadMs, 1000));
      } catch (e) {
        if (e instanceof HeuristicError) return e;
        return this.workerFailure(e, r.id, '');
      }
    }
    return new HeuristicError({
      kind: 'timeout',
      message: `a batch of ${records.length} records (first ${JSON.stringify(records[0]?.id)}) exceeded its time budget, but no single record exceeded the per-record limit when replayed`,
    });
  }

  async runBatch(records: SandboxRecord[]): Promise<Vote[]> {
    if (this.closed) throw new HeuristicError({ kind: 'runtime', message: 'runner is closed' });
    if (records.length === 0) return [];
    const n = records.length;
    const per = Math.min(this.chunkSize, Math.max(100, Math.ceil(n / this.pool.size)));
    const parts: Array<Promise<Vote[]>> = [];
    for (let i = 0; i < n; i += per) parts.push(this.runChunk(records.slice(i, i + per)));
    const settled = await Promise.allSettled(parts);
    const out: Vote[] = [];
    for (const s of settled) {
      if (s.status === 'rejected') throw s.reason; // the earliest chunk's error
      for (const v of s.value) out.push(v);
    }
    return out;
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.pool.forget(this.id);
    }
    return Promise.resolve();
  }
}
