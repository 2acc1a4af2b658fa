import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openPostgres, type SqlDatabase } from '@refinery/events';

/**
 * Scale-out test support: the `refinery api|projector|workers` roles as real child processes
 * (node + tsx on the CLI's source, one OS process each, so SIGKILL kills exactly that role),
 * on a database of their own on a PostgreSQL server.
 */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI_MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export type RoleName = 'api' | 'projector' | 'workers';

export interface RoleProcess {
  readonly role: RoleName;
  readonly name: string;
  readonly child: ChildProcess;
  /** everything the process wrote so far (stdout and stderr) */
  output(): string;
  /** resolves with the first match of `pattern` in the output */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** resolves when the process has exited */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

export function startRole(role: RoleName, name: string, env: Record<string, string>): RoleProcess {
  // `node --import tsx` rather than the tsx binary: the binary runs node as a second process,
  // which would survive a SIGKILL sent to the first.
  const child = spawn(process.execPath, ['--no-node-snapshot', '--import', 'tsx', CLI_MAIN, role], {
    cwd: REPO_ROOT,
    env: { ...process.env, NODE_OPTIONS: '', PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const watchers = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (const w of [...watchers]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const w of [...watchers]) w();
      resolve({ code, signal });
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    role,
    name,
    child,
    exited,
    output: () => text,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`${name}: no output matching ${pattern} within ${timeoutMs} ms; output:\n${text.slice(-4000)}`));
        }, timeoutMs);
        function check() {
          const m = text.match(pattern);
          if (m) {
            clearTimeout(timer);
            watchers.delete(check);
            resolve(m);
          } else if (done || child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            watchers.delete(check);
            reject(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}; output:\n${text.slice(-4000)}`));
          }
        }
        watchers.add(check);
        check();
      });
    },
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** A fresh database on the server at `url` (the admin connection's database is only used to create it). */
export interface ScratchDatabases {
  create(prefix: string, template?: string): Promise<{ name: string; url: string }>;
  /** ends every other session on the database (a template must have none) */
  disconnect(name: string): Promise<void>;
  dropAll(): Promise<void>;
}

export async function scratchDatabases(url: string): Promise<ScratchDatabases> {
  const admin: SqlDatabase = await openPostgres(url, { maxConnections: 1 });
  const created: string[] = [];
  const urlOf = (name: string) => {
    const u = new URL(url);
    u.pathname = `/${name}`;
    return u.toString();
  };
  const disconnect = async (name: string) => {
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [name]);
  };
  return {
    disconnect,
    async create(prefix, template) {
      const name = `${prefix}_${randomBytes(5).toString('hex')}`;
      for (let attempt = 0; ; attempt++) {
        try {
          if (template) await disconnect(template);
          await admin.query(`create database ${name}${template ? ` template ${template}` : ''}`);
          break;
        } catch (err) {
          // "source database is being accessed by other users": a killed process's session may linger a moment
          if (!template || attempt >= 20) throw err;
          await new Promise((r) => setTimeout(r, 250));
        }
      }
      created.push(name);
      return { name, url: urlOf(name) };
    },
    async dropAll() {
      for (const name of created.splice(0)) await admin.query(`drop database if exists ${name} with (force)`);
      await admin.close();
    },
  };
}

/** A JSON client for one API process, authenticated with a Bearer token. */
export function apiClient(baseUrl: string, token: string) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { authorization: `Bearer ${token}`, ...headers } };
    if (typeof body === 'string') init.body = body;
    else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const res = await fetch(`${baseUrl}${path}`, init);
    const text = await res.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the caller's assertions
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
  };
}
