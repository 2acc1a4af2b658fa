/**
 * JavaScript / TypeScript heuristics in isolated-vm: one fresh isolate per runner (= per run),
 * not per record. See docs/sandbox.md for the time-limit scheme.
 */
import ivm from 'isolated-vm';
import type { HeuristicRunner, HeuristicSource, LookupList, RawBatchResult, RawSparseResult, RecordLines, SandboxLimits, SandboxRecord, SparseVotes, Vote } from './types.ts';
import { DEFAULT_LIMITS, HeuristicError, linesToRecords } from './types.ts';
import { HARNESS_FILENAME, HARNESS_SOURCE, USER_FILENAME } from './js-harness.ts';
import { lookupRegexSource } from './lookup.ts';
import { decodeMappings, originalPosition, type DecodedMap } from './sourcemap.ts';
import { VoteValidator, errorFromRaw } from './validate.ts';
import { findDynamicImport } from './js-static.ts';
import { encodeBatch, type EncodedBatch } from './js-transport.ts';

const TIMED_OUT = 'Script execution timed out.';
/** Allowance for the call itself when a single record is re-run with the per-record limit. */
const SINGLE_CALL_OVERHEAD_MS = 5;
const LOC = /heuristic\.js:(\d+):(\d+)/;

interface Compiled {
  js: string;
  map?: DecodedMap;
}

/** TypeScript → JavaScript with esbuild (types stripped, no type checking), plus a source map. */
async function compileTypeScript(code: string): Promise<Compiled> {
  const { transform } = await import('esbuild');
  try {
    const out = await transform(code, {
      loader: 'ts',
      sourcefile: 'heuristic.ts',
      sourcemap: 'external',
      target: 'es2022',
    });
    const parsed = JSON.parse(out.map) as { mappings: string };
    return { js: out.code, map: decodeMappings(parsed.mappings) };
  } catch (e) {
    const first = (e as { errors?: Array<{ text: string; location?: { line: number; column: number } | null }> }).errors?.[0];
    if (!first) throw e;
    const loc = first.location;
    throw new HeuristicError({
      kind: 'syntax',
      message: `SyntaxError: ${first.text}${loc ? ` (line ${loc.line}, column ${loc.column + 1})` : ''}`,
      ...(loc ? { line: loc.line, column: loc.column + 1 } : {}),
    });
  }
}

export interface JsRunnerOptions {
  lookupLists?: Record<string, LookupList | string[]>;
  limits?: Partial<SandboxLimits>;
}

export class JsRunner implements HeuristicRunner {
  private isolate: ivm.Isolate | undefined;
  private runRef!: ivm.Reference<(meta: string, text: string, seq: number) => string>;
  /** Shared with the harness: [0] abandon batches up to this seq, [1] running batch, [2] its record index. */
  private readonly ctl = new Int32Array(new SharedArrayBuffer(12));
  private seq = 0;
  private runLinesRef!: ivm.Reference<(text: string, seq: number) => string>;
  /** the records of each batch in flight (parsed on demand for `runLines` batches) */
  private readonly outstanding = new Map<number, () => SandboxRecord[]>();
  private readonly pending = new Set<Promise<unknown>>();
  private memoryFailure: Promise<HeuristicError> | undefined;
  private dead: HeuristicError | undefined;
  private readonly validator: VoteValidator;
  private readonly limits: SandboxLimits;
  private compiled!: Compiled;
  private noReplay = false;

  private constructor(
    private readonly source: HeuristicSource,
    private readonly options: JsRunnerOptions,
  ) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.validator = new VoteValidator(source);
  }

  static async create(source: HeuristicSource, options: JsRunnerOptions = {}): Promise<JsRunner> {
    const r = new JsRunner(source, options);
    r.compiled = source.language === 'typescript' ? await compileTypeScript(source.code) : { js: source.code };
    const dyn = findDynamicImport(source.code);
    if (dyn) {
      throw new HeuristicError({
        kind: 'syntax',
        message: `import() is not available in the sandbox: modules cannot be loaded (line ${dyn.line}, column ${dyn.column})`,
        ...dyn,
      });
    }
    try {
      await r.start();
    } catch (e) {
      r.dispose();
      throw e;
    }
    return r;
  }

  /** Maps a position in the compiled JavaScript to the user's source. */
  private userPos(line: number, column: number): { line: number; column: number } {
    if (!this.compiled.map) return { line, column };
    return originalPosition(this.compiled.map, line, column) ?? { line, column };
  }

  private locate(text: string | undefined): { line?: number; column?: number } {
    const m = text ? LOC.exec(text) : null;
    if (!m) return {};
    return this.userPos(Number(m[1]), Number(m[2]));
  }

  private async start(): Promise<void> {
    const isolate = new ivm.Isolate({ memoryLimit: this.limits.memoryMb });
    this.isolate = isolate;
    const context = await isolate.createContext();
    const harness = await isolate.compileScript(HARNESS_SOURCE, { filename: HARNESS_FILENAME });
    const api = (await harness.run(context, { reference: true })) as ivm.Reference<Record<string, unknown>>;
    harness.release();
    const setupRef = (await api.get('setup', { reference: true })) as ivm.Reference<(k: string, l: string, control: unknown) => void>;
    const bindRef = (await api.get('bind', { reference: true })) as ivm.Reference<(f: unknown) => void>;
    this.runRef = (await api.get('run', { reference: true })) as ivm.Reference<(meta: string, text: string, seq: number) => string>;
    this.runLinesRef = (await api.get('runLines', { reference: true })) as ivm.Reference<(text: string, seq: number) => string>;
    api.release();

    const lookups: Record<string, { terms: string[]; source: string; flags: string }> = {};
    for (const [name, list] of Object.entries(this.options.lookupLists ?? {})) {
      lookups[name] = { terms: Array.isArray(list) ? list : list.terms, ...lookupRegexSource(list) };
    }
    // a SharedArrayBuffer copied into the isolate keeps pointing at the same memory
    await setupRef.apply(undefined, [this.source.kind, JSON.stringify(lookups), new ivm.ExternalCopy(this.ctl.buffer).copyInto({ release: true })]);
    setupRef.release();

    let script: ivm.Script;
    try {
      script = await isolate.compileScript(this.compiled.js, { filename: USER_FILENAME });
    } catch (e) {
      const msg = (e as Error).message ?? String(e);
      const m = /\[heuristic\.js:(\d+):(\d+)\]\s*$/.exec(msg);
      const pos: { line?: number; column?: number } = m ? this.userPos(Number(m[1]), Number(m[2])) : {};
      const text = msg.replace(/\s*\[heuristic\.js:\d+:\d+\]\s*$/, '');
      throw new HeuristicError({
        kind: 'syntax',
        message: `${(e as Error).name ?? 'SyntaxError'}: ${text}${pos.line !== undefined ? ` (line ${pos.line}, column ${pos.column})` : ''}`,
        ...pos,
      });
    }
    try {
      await script.run(context, { timeout: this.limits.setupMs });
    } catch (e) {
      throw this.hostError(e, undefined, 'while running the top level of the code');
    } finally {
      script.release();
    }
    const lfRef = (await context.eval('typeof lf === "function" ? lf : undefined', { reference: true })) as ivm.Reference<unknown>;
    if (lfRef.typeof !== 'function') {
      throw new HeuristicError({ kind: 'syntax', message: 'the code must define a function named lf, e.g. `function lf(record, ctx) { ... }`' });
    }
    await bindRef.apply(undefined, [lfRef.derefInto()]);
    bindRef.release();
    lfRef.release();
  }

  /** Converts an exception thrown out of isolated-vm into a HeuristicError. */
  private hostError(e: unknown, recordId: string | undefined, during: string): HeuristicError {
    const err = e as Error;
    const msg = err?.message ?? String(e);
    const rid = recordId !== undefined ? { recordId } : {};
    const who = recordId !== undefined ? `record ${JSON.stringify(recordId)}: ` : '';
    if (this.memoryFailure !== undefined || this.isolate?.isDisposed || /memory limit/i.test(msg)) {
      return new HeuristicError({ kind: 'memory', message: `${who}exceeded the memory limit of ${this.limits.memoryMb} MB ${during}`, ...rid });
    }
    if (msg === TIMED_OUT) {
      return new HeuristicError({ kind: 'timeout', message: `${who}time limit exceeded ${during}`, ...rid });
    }
    const pos = this.locate(err?.stack ?? msg);
    let text = `${err?.name ?? 'Error'}: ${msg}`;
    if (msg === 'Not supported') text = 'import() is not available in the sandbox: modules cannot be loaded';
    return new HeuristicError({
      kind: 'runtime',
      message: `${who}${text}${pos.line !== undefined ? ` (line ${pos.line}, column ${pos.column})` : ''}`,
      ...rid,
      ...pos,
    });
  }

  /**
   * Batches are handed to the isolate as soon as they are given: isolated-vm queues calls and runs
   * them one after another on the isolate's thread, and each call's time limit starts when it
   * starts running. So a caller that keeps several batches in flight keeps the isolate busy while
   * its own thread does other work (reading the next records), without waiting for a round trip
   * per batch. Results come back in call order. Once a batch fails, the batches already queued
   * behind it are abandoned (they reject without running, or stop at their next record);
   * batches given after the failure was reported run normally.
   */
  runBatch(records: SandboxRecord[]): Promise<Vote[]> {
    if (this.dead) return Promise.reject(this.dead);
    if (!this.isolate) return Promise.reject(new HeuristicError({ kind: 'runtime', message: 'runner is closed' }));
    if (records.length === 0) return Promise.resolve([]);
    let batch: EncodedBatch;
    try {
      batch = encodeBatch(records);
    } catch (e) {
      return Promise.reject(e);
    }
    const seq = ++this.seq;
    this.outstanding.set(seq, () => records);
    return this.track(seq, this.execute(records, batch, seq));
  }

  /** Classification fast path (see `HeuristicRunner.runLines`): the isolate parses the lines. */
  runLines(batch: RecordLines): Promise<SparseVotes> {
    if (this.source.kind !== 'classification') return Promise.reject(new TypeError('runLines is for classification heuristics'));
    if (this.dead) return Promise.reject(this.dead);
    if (!this.isolate) return Promise.reject(new HeuristicError({ kind: 'runtime', message: 'runner is closed' }));
    if (batch.count === 0) return Promise.resolve({ ids: [], labels: [] });
    const seq = ++this.seq;
    let parsed: SandboxRecord[] | undefined;
    const records = () => (parsed ??= linesToRecords(batch));
    this.outstanding.set(seq, records);
    return this.track(seq, this.executeLines(batch, records, seq));
  }

  private track<T>(seq: number, work: Promise<T>): Promise<T> {
    const p = work.finally(() => {
      this.outstanding.delete(seq);
      this.pending.delete(p);
    });
    this.pending.add(p);
    return p;
  }

  private async executeLines(batch: RecordLines, records: () => SandboxRecord[], seq: number): Promise<SparseVotes> {
    let out: string;
    try {
      out = await this.runLinesRef.apply(undefined, [batch.text, seq], { timeout: this.limits.perRecordMs * batch.count + this.limits.batchOverheadMs });
    } catch (e) {
      return this.batchFailure(e, records(), seq);
    }
    const result = JSON.parse(out) as RawSparseResult | { skipped: 1 };
    if ('skipped' in result) {
      throw new HeuristicError({ kind: 'runtime', message: `a batch of ${batch.count} records was not run: an earlier batch failed` });
    }
    if ('error' in result) {
      this.abandonQueued();
      const err = { ...result.error };
      if (err.line !== undefined) Object.assign(err, this.userPos(err.line, err.column ?? 1));
      throw errorFromRaw(err, records());
    }
    try {
      return this.validator.finalizeSparse(result.ids, result.votes);
    } catch (e) {
      this.abandonQueued();
      throw e;
    }
  }

  /** Marks every batch given so far as abandoned (after a failure). */
  private abandonQueued(): void {
    Atomics.store(this.ctl, 0, this.seq);
  }

  private async execute(records: SandboxRecord[], batch: EncodedBatch, seq: number): Promise<Vote[]> {
    const P = this.limits.perRecordMs;
    let out: string;
    try {
      out = await this.runRef.apply(undefined, [batch.meta, batch.text, seq], { timeout: P * records.length + this.limits.batchOverheadMs });
    } catch (e) {
      return this.batchFailure(e, records, seq);
    }
    const result = JSON.parse(out) as RawBatchResult | { skipped: 1 };
    if ('skipped' in result) {
      throw new HeuristicError({ kind: 'runtime', message: `a batch of ${records.length} records (first ${JSON.stringify(records[0]?.id)}) was not run: an earlier batch failed` });
    }
    if ('error' in result) {
      this.abandonQueued();
      const err = { ...result.error };
      if (err.line !== undefined) Object.assign(err, this.userPos(err.line, err.column ?? 1));
      throw errorFromRaw(err, records);
    }
    try {
      return this.validator.finalize(records, result.votes);
    } catch (e) {
      this.abandonQueued();
      throw e;
    }
  }

  /**
   * The isolate is gone for lack of memory. A batch may be told only that the isolate is
   * disposed: the one that hit the limit can be a batch queued behind it that had started (and
   * disposed the isolate) while this one's slow record was being identified.
   */
  private isMemoryFailure(msg: string): boolean {
    return this.memoryFailure !== undefined || this.isolate === undefined || this.isolate.isDisposed || /memory limit|isolate (is|was) disposed/i.test(msg);
  }

  private async batchFailure(e: unknown, records: SandboxRecord[], seq: number): Promise<never> {
    this.abandonQueued();
    if (this.dead && !this.memoryFailure) throw this.dead;
    const msg = (e as Error)?.message ?? '';
    // "disposed": a batch queued behind the one that hit the limit may be told only that the
    // isolate is gone, possibly before that batch's own rejection arrives
    if (this.isMemoryFailure(msg)) {
      // The isolate is gone with its state, and every queued batch with it. Find the record by
      // replaying the batch that was running, one record at a time in a fresh isolate (the record
      // during which the limit is crossed on replay). Every batch in flight reports that error.
      if (!this.memoryFailure) {
        const running = this.outstanding.get(this.ctl[1]!)?.() ?? records;
        this.dead = new HeuristicError({ kind: 'memory', message: `runner stopped after exceeding the memory limit of ${this.limits.memoryMb} MB` });
        this.memoryFailure = this.noReplay
          ? Promise.resolve(new HeuristicError({ kind: 'memory', message: `exceeded the memory limit of ${this.limits.memoryMb} MB` }))
          : this.replayForMemory(running);
        void this.memoryFailure.then((err) => {
          this.dead = new HeuristicError({ kind: 'memory', message: `runner stopped after exceeding the memory limit: ${err.message}` });
        });
        this.dispose();
      }
      throw await this.memoryFailure;
    }
    // the harness's progress, if it is still about this batch (the next one may have started)
    const index = this.ctl[1] === seq && this.ctl[2]! >= 0 ? this.ctl[2]! : undefined;
    const recordId = index !== undefined ? records[index]?.id : undefined;
    if (msg === TIMED_OUT) throw await this.identifySlowRecord(records, index);
    throw this.hostError(e, recordId, 'while running the batch');
  }

  /**
   * The batch used up its budget (perRecordMs × n + overhead) and was stopped while record `index`
   * was running. Re-run that record alone with the per-record limit; if it finishes in time, re-run
   * the batch's records one by one. The first record that exceeds the limit on its own is reported.
   */
  private async identifySlowRecord(records: SandboxRecord[], index: number | undefined): Promise<HeuristicError> {
    const P = this.limits.perRecordMs;
    const order = index === undefined ? records.map((_, i) => i) : [index, ...records.map((_, i) => i).filter((i) => i !== index)];
    for (const i of order) {
      const r = records[i]!;
      try {
        const one = encodeBatch([r]);
        const out = JSON.parse(await this.runRef.apply(undefined, [one.meta, one.text, 0], { timeout: P + SINGLE_CALL_OVERHEAD_MS })) as RawBatchResult;
        if ('error' in out) {
          const err = { ...out.error };
          if (err.line !== undefined) Object.assign(err, this.userPos(err.line, err.column ?? 1));
          return errorFromRaw(err, [r]);
        }
      } catch (e) {
        const msg = (e as Error)?.message ?? '';
        if (msg === TIMED_OUT) {
          return new HeuristicError({
            kind: 'timeout',
            message: `record ${JSON.stringify(r.id)}: exceeded the time limit of ${P} ms per record (execution was stopped)`,
            recordId: r.id,
          });
        }
        // out of memory while re-running: the memory failure (with its record) is the outcome
        if (this.isMemoryFailure(msg)) return this.batchFailure(e, [r], 0).catch((err: HeuristicError) => err);
        return this.hostError(e, r.id, 'while re-running a record alone');
      }
    }
    return new HeuristicError({
      kind: 'timeout',
      message: `a batch of ${records.length} records (first ${JSON.stringify(records[0]?.id)}) exceeded its time budget of ${P} ms per record, but no record exceeded ${P} ms when re-run alone`,
    });
  }

  private async replayForMemory(records: SandboxRecord[]): Promise<HeuristicError> {
    const fallback = new HeuristicError({
      kind: 'memory',
      message: `exceeded the memory limit of ${this.limits.memoryMb} MB while processing a batch of ${records.length} records (first ${JSON.stringify(records[0]?.id)})`,
    });
    let probe: JsRunner | undefined;
    try {
      probe = await JsRunner.create(this.source, this.options);
      probe.noReplay = true;
      for (const r of records) {
        try {
          await probe.runBatch([r]);
        } catch (e) {
          if (e instanceof HeuristicError && e.kind === 'memory') {
            return new HeuristicError({
              kind: 'memory',
              message: `record ${JSON.stringify(r.id)}: exceeded the memory limit of ${this.limits.memoryMb} MB`,
              recordId: r.id,
            });
          }
          if (probe.isolate?.isDisposed) return fallback;
        }
      }
      return fallback;
    } catch {
      return fallback;
    } finally {
      probe?.dispose();
    }
  }

  private dispose(): void {
    const iso = this.isolate;
    this.isolate = undefined;
    if (iso && !iso.isDisposed) iso.dispose();
  }

  /** Batches still queued are abandoned (they reject); the one running finishes first. */
  async close(): Promise<void> {
    this.abandonQueued();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    this.dispose();
  }
}
