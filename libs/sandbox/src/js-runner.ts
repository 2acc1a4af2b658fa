/**
 * JavaScript / TypeScript heuristics in isolated-vm: one fresh isolate per runner (= per run),
 * not per record. See docs/sandbox.md for the time-limit scheme.
 */
import ivm from 'isolated-vm';
import type { HeuristicRunner, HeuristicSource, LookupList, RawBatchResult, SandboxLimits, SandboxRecord, Vote } from './types.ts';
import { DEFAULT_LIMITS, HeuristicError } from './types.ts';
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
  private runRef!: ivm.Reference<(meta: string, text: string) => string>;
  private progressRef!: ivm.Reference<() => number>;
  private tail: Promise<unknown> = Promise.resolve();
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
    const setupRef = (await api.get('setup', { reference: true })) as ivm.Reference<(k: string, l: string) => void>;
    const bindRef = (await api.get('bind', { reference: true })) as ivm.Reference<(f: unknown) => void>;
    this.runRef = (await api.get('run', { reference: true })) as ivm.Reference<(meta: string, text: string) => string>;
    this.progressRef = (await api.get('progress', { reference: true })) as ivm.Reference<() => number>;
    api.release();

    const lookups: Record<string, { terms: string[]; source: string; flags: string }> = {};
    for (const [name, list] of Object.entries(this.options.lookupLists ?? {})) {
      lookups[name] = { terms: Array.isArray(list) ? list : list.terms, ...lookupRegexSource(list) };
    }
    await setupRef.apply(undefined, [this.source.kind, JSON.stringify(lookups)]);
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
    if (this.isolate?.isDisposed || /memory limit/i.test(msg)) {
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
   * Calls are executed one at a time (one isolate), in call order. The batch is serialised right
   * away, so a caller that keeps two batches in flight overlaps serialisation and validation on the
   * Node thread with execution on the isolate's thread.
   */
  runBatch(records: SandboxRecord[]): Promise<Vote[]> {
    let batch: EncodedBatch;
    try {
      batch = encodeBatch(records);
    } catch (e) {
      return Promise.reject(e);
    }
    const p = this.tail.then(() => this.runSerial(records, batch));
    this.tail = p.catch(() => undefined);
    return p;
  }

  private async runSerial(records: SandboxRecord[], batch = encodeBatch(records)): Promise<Vote[]> {
    if (this.dead) throw this.dead;
    if (!this.isolate) throw new HeuristicError({ kind: 'runtime', message: 'runner is closed' });
    if (records.length === 0) return [];
    const P = this.limits.perRecordMs;
    let out: string;
    try {
      out = await this.runRef.apply(undefined, [batch.meta, batch.text], { timeout: P * records.length + this.limits.batchOverheadMs });
    } catch (e) {
      return this.batchFailure(e, records);
    }
    const result = JSON.parse(out) as RawBatchResult;
    if ('error' in result) {
      const err = { ...result.error };
      if (err.line !== undefined) Object.assign(err, this.userPos(err.line, err.column ?? 1));
      throw errorFromRaw(err, records);
    }
    return this.validator.finalize(records, result.votes);
  }

  private async batchFailure(e: unknown, records: SandboxRecord[]): Promise<never> {
    const msg = (e as Error)?.message ?? '';
    if (this.isolate?.isDisposed || /memory limit/i.test(msg)) {
      // The isolate is gone with its state; find the record by replaying the batch one record at a
      // time in a fresh isolate (the record during which the limit is crossed on replay).
      const err = this.noReplay
        ? new HeuristicError({ kind: 'memory', message: `exceeded the memory limit of ${this.limits.memoryMb} MB` })
        : await this.replayForMemory(records);
      this.dead = new HeuristicError({ kind: 'memory', message: `runner stopped after exceeding the memory limit: ${err.message}` });
      this.dispose();
      throw err;
    }
    let index: number | undefined;
    try {
      const p = await this.progressRef.apply(undefined, [], { timeout: 1000 });
      if (p >= 0) index = p;
    } catch {
      index = undefined;
    }
    const recordId = index !== undefined ? records[index]?.id : undefined;
    if (msg === TIMED_OUT) return Promise.reject(await this.identifySlowRecord(records, index));
    return Promise.reject(this.hostError(e, recordId, 'while running the batch'));
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
        const out = JSON.parse(await this.runRef.apply(undefined, [one.meta, one.text], { timeout: P + SINGLE_CALL_OVERHEAD_MS })) as RawBatchResult;
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
          await probe.runSerial([r]);
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

  async close(): Promise<void> {
    await this.tail;
    this.dispose();
  }
}
