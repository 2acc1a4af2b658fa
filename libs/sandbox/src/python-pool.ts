/**
 * A pool of long-lived `python3` worker processes shared by all Python heuristic runners.
 * Isolation is process-level only (see docs/sandbox.md).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type NetworkIsolation = 'unshare --net' | 'unshare --map-root-user --net' | 'none';

export interface PythonPoolOptions {
  /** Number of worker processes (default: number of cores). */
  size?: number;
  /** Address-space limit (RLIMIT_AS) per worker in MB, including the interpreter (default 512). */
  memoryMb?: number;
  /** Python executable (default `python3`, resolved on PATH). */
  python?: string;
  /** Run workers in a new network namespace if possible (default true). */
  isolateNetwork?: boolean;
  /** Where notes go (network isolation fallback, worker crashes). Default `console.warn`. */
  log?: (message: string) => void;
}

const WORKER_SOURCE = readFileSync(fileURLToPath(new URL('./python/worker.py', import.meta.url)), 'utf8');
const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';

export class WorkerTimeout extends Error {
  constructor(ms: number) {
    super(`python worker did not answer within ${ms} ms (killed)`);
  }
}
export class WorkerDied extends Error {
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: string,
  ) {
    super(`python worker exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`})${stderrTail ? `: ${stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
  }
}

/**
 * The real interpreter binary: asks Python for `sys.executable`, so wrappers on PATH (pyenv shims
 * are shell scripts that add their own environment variables) are bypassed.
 */
function resolveExecutable(name: string): string {
  let candidate = name;
  if (!name.includes('/')) {
    for (const dir of (process.env['PATH'] ?? SAFE_PATH).split(':')) {
      const p = path.join(dir, name);
      if (dir && existsSync(p)) {
        candidate = p;
        break;
      }
    }
  }
  const r = spawnSync(candidate, ['-I', '-S', '-c', 'import sys; print(sys.executable)'], { encoding: 'utf8', timeout: 10_000 });
  const exe = r.status === 0 ? r.stdout.trim() : '';
  return exe && existsSync(exe) ? exe : candidate;
}

const isolationCache = new Map<string, NetworkIsolation>();

/** Checks which way of dropping the network works here (cached per python executable). */
export function detectNetworkIsolation(python: string): NetworkIsolation {
  const cached = isolationCache.get(python);
  if (cached) return cached;
  const probe = 'import socket\ns=socket.socket()\ns.settimeout(1)\nimport sys\nsys.exit(0 if s.connect_ex(("1.1.1.1", 53)) != 0 else 3)';
  let found: NetworkIsolation = 'none';
  for (const [mode, args] of [
    ['unshare --net', ['--net', '--']],
    ['unshare --map-root-user --net', ['--map-root-user', '--net', '--']],
  ] as const) {
    const r = spawnSync('unshare', [...args, python, '-I', '-S', '-c', probe], { timeout: 5000, env: { PATH: SAFE_PATH } });
    if (r.status === 0) {
      found = mode;
      break;
    }
  }
  isolationCache.set(python, found);
  return found;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class PyWorker {
  readonly proc: ChildProcess;
  readonly loaded = new Set<string>();
  pendingUnload: string[] = [];
  alive = true;
  /** Set when the pool stopped trusting this worker; it is never handed out again. */
  retired = false;
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private stderrTail = '';
  private readonly dir: string;

  constructor(python: string, memoryMb: number, network: NetworkIsolation, private readonly onExit: (w: PyWorker) => void) {
    this.dir = mkdtempSync(path.join(tmpdir(), 'refinery-py-'));
    const pyArgs = ['-I', '-S', '-B', '-c', WORKER_SOURCE, String(memoryMb * 1024 * 1024)];
    const [cmd, args] =
      network === 'unshare --net'
        ? ['unshare', ['--net', '--', python, ...pyArgs]]
        : network === 'unshare --map-root-user --net'
          ? ['unshare', ['--map-root-user', '--net', '--', python, ...pyArgs]]
          : [python, pyArgs];
    this.proc = spawn(cmd, args, {
      cwd: this.dir,
      env: { PATH: SAFE_PATH, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8', HOME: this.dir, TMPDIR: this.dir },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stdout!.on('data', (c: Buffer) => this.onData(c));
    this.proc.stderr!.on('data', (c: Buffer) => {
      this.stderrTail = (this.stderrTail + c.toString('utf8')).slice(-2000);
    });
    this.proc.stdin!.on('error', () => undefined);
    this.proc.on('error', (e) => this.fail(e));
    this.proc.on('exit', (code, signal) => this.fail(new WorkerDied(code, signal, this.stderrTail)));
    this.setRef(false);
  }

  private fail(e: Error): void {
    if (!this.alive) return;
    this.alive = false;
    const p = this.pending;
    this.pending = undefined;
    if (p) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    rmSync(this.dir, { recursive: true, force: true });
    this.onExit(this);
  }

  setRef(on: boolean): void {
    const items = [this.proc, this.proc.stdout, this.proc.stderr, this.proc.stdin] as Array<{ ref?: () => void; unref?: () => void } | null>;
    for (const it of items) (on ? it?.ref : it?.unref)?.call(it);
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 4) {
      const size = this.buf.readUInt32BE(0);
      if (this.buf.length < 4 + size) return;
      const payload = this.buf.subarray(4, 4 + size).toString('utf8');
      this.buf = this.buf.subarray(4 + size);
      const p = this.pending;
      this.pending = undefined;
      if (p) {
        clearTimeout(p.timer);
        this.setRef(false);
        try {
          p.resolve(JSON.parse(payload));
        } catch (e) {
          p.reject(e as Error);
        }
      }
    }
  }

  /**
   * Sends one message (its JSON text, plus an optional body after a line break: the JSON text has
   * none of its own) and waits for the answer; kills the worker after `timeoutMs`.
   */
  request(json: string, timeoutMs: number, body?: string): Promise<unknown> {
    if (!this.alive) return Promise.reject(new WorkerDied(null, null, this.stderrTail));
    if (this.pending) return Promise.reject(new Error('worker busy'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.pending;
        this.pending = undefined;
        this.kill();
        p?.reject(new WorkerTimeout(timeoutMs));
      }, timeoutMs);
      this.pending = { resolve, reject, timer };
      this.setRef(true);
      const head = Buffer.from(body === undefined ? json : `${json}\n`, 'utf8');
      const tail = body === undefined ? undefined : Buffer.from(body, 'utf8');
      const hdr = Buffer.allocUnsafe(4);
      hdr.writeUInt32BE(head.length + (tail?.length ?? 0), 0);
      this.proc.stdin!.write(tail ? Buffer.concat([hdr, head, tail]) : Buffer.concat([hdr, head]));
    });
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

export class PythonPool {
  readonly size: number;
  readonly memoryMb: number;
  readonly python: string;
  readonly networkIsolation: NetworkIsolation;
  private readonly log: (m: string) => void;
  private readonly workers = new Set<PyWorker>();
  private readonly idle: PyWorker[] = [];
  private readonly waiters: Array<(w: PyWorker) => void> = [];
  private closed = false;

  constructor(options: PythonPoolOptions = {}) {
    this.size = Math.max(1, options.size ?? availableParallelism());
    this.memoryMb = options.memoryMb ?? 512;
    this.python = resolveExecutable(options.python ?? 'python3');
    this.log = options.log ?? ((m) => console.warn(m));
    if (options.isolateNetwork === false) {
      this.networkIsolation = 'none';
    } else {
      this.networkIsolation = detectNetworkIsolation(this.python);
      if (this.networkIsolation === 'none') {
        this.log('[sandbox] python workers run WITHOUT network isolation: `unshare --net` and `unshare --map-root-user --net` are not permitted here');
      }
    }
  }

  /** Process ids of the live workers (for monitoring and benchmarks). */
  get workerPids(): number[] {
    return [...this.workers].map((w) => w.proc.pid).filter((p): p is number => p !== undefined);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Waits for a free worker (spawning one if the pool is below its size). */
  acquire(): Promise<PyWorker> {
    if (this.closed) return Promise.reject(new Error('python pool is closed'));
    const w = this.idle.pop();
    if (w) return Promise.resolve(w);
    if (this.workers.size < this.size) return Promise.resolve(this.spawn());
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(w: PyWorker): void {
    if (!w.alive || w.retired || this.closed) {
      this.replaceFor(w);
      return;
    }
    const next = this.waiters.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  /** Kills a worker whose state is no longer trusted (timeout, memory error). */
  discard(w: PyWorker): void {
    w.retired = true;
    w.kill();
    this.workers.delete(w);
    this.replaceFor(w);
  }

  private replaceFor(w: PyWorker): void {
    this.workers.delete(w);
    const i = this.idle.indexOf(w);
    if (i >= 0) this.idle.splice(i, 1);
    if (!this.closed && this.waiters.length > 0 && this.workers.size < this.size) {
      this.waiters.shift()!(this.spawn());
    }
  }

  private spawn(): PyWorker {
    const w = new PyWorker(this.python, this.memoryMb, this.networkIsolation, (dead) => this.replaceFor(dead));
    this.workers.add(w);
    return w;
  }

  /** Marks a heuristic for unloading; each worker drops it with its next message. */
  forget(heuristicId: string): void {
    for (const w of this.workers) {
      if (w.loaded.delete(heuristicId)) w.pendingUnload.push(heuristicId);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.workers];
    this.workers.clear();
    this.idle.length = 0;
    await Promise.all(
      all.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (!w.alive) return resolve();
            w.setRef(true); // keep the event loop alive until the worker has exited
            w.proc.once('exit', () => resolve());
            w.proc.stdin!.end();
            setTimeout(() => w.kill(), 1000).unref();
          }),
      ),
    );
  }
}

let defaultPool: PythonPool | undefined;

/** The process-wide pool used when `createRunner` gets no `pythonPool`. */
export function defaultPythonPool(): PythonPool {
  if (!defaultPool || defaultPool.isClosed) defaultPool = new PythonPool();
  return defaultPool;
}

export async function closeDefaultPythonPool(): Promise<void> {
  const p = defaultPool;
  defaultPool = undefined;
  await p?.close();
}
