import type { HeuristicRunner, HeuristicSource, LookupList, SandboxLimits } from './types.ts';
import { HeuristicError } from './types.ts';
import { JsRunner } from './js-runner.ts';
import { PythonRunner } from './python-runner.ts';
import { type PythonPool, defaultPythonPool } from './python-pool.ts';

export interface RunnerOptions {
  /** Named lookup lists readable from the function (`ctx.lookup(name)` / `lookup(name)`). */
  lookupLists?: Record<string, LookupList | string[]>;
  limits?: Partial<SandboxLimits>;
  /** Python only: the worker pool (default: the process-wide `defaultPythonPool()`). */
  pythonPool?: PythonPool;
  /** Python only: records per worker message (default 1000). */
  chunkSize?: number;
}

/**
 * Compiles the heuristic and returns a runner. Throws `HeuristicError` with kind `syntax` (or
 * `runtime` / `timeout` / `memory` if the top level of the code fails) at creation.
 */
export async function createRunner(source: HeuristicSource, options: RunnerOptions = {}): Promise<HeuristicRunner> {
  if (typeof source.code !== 'string') throw new TypeError('source.code must be a string');
  switch (source.language) {
    case 'javascript':
    case 'typescript':
      return JsRunner.create(source, {
        ...(options.lookupLists ? { lookupLists: options.lookupLists } : {}),
        ...(options.limits ? { limits: options.limits } : {}),
      });
    case 'python':
      return PythonRunner.create(source, {
        pool: options.pythonPool ?? defaultPythonPool(),
        ...(options.lookupLists ? { lookupLists: options.lookupLists } : {}),
        ...(options.limits ? { limits: options.limits } : {}),
        ...(options.chunkSize ? { chunkSize: options.chunkSize } : {}),
      });
    default:
      throw new HeuristicError({ kind: 'syntax', message: `unsupported language ${JSON.stringify((source as { language: unknown }).language)}` });
  }
}
