/**
 * Shared helpers for browser tests: start the built product, launch Chromium, take screenshots.
 *
 * The product is `node apps/cli/dist/refinery.mjs start` (build it first with `npm run build`).
 * Set REFINERY_E2E_ENTRY to run another entry script that prints the same "running at" line.
 *
 * The product requires signing in. Each start is a first start (fresh DATA_DIR), so it prints the
 * owner's e-mail and random password once; `startProduct` reads them into `product.owner`, and
 * `launchBrowser()` signs in through the sign-in page of the most recently started product
 * (pass `{ signInTo: null }` for a browser without a session, or another product).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const screenshotsDir = path.join(repoRoot, 'test-results', 'screenshots');
export const productEntry = process.env['REFINERY_E2E_ENTRY'] ?? path.join(repoRoot, 'apps', 'cli', 'dist', 'refinery.mjs');

const RUNNING_AT = /Refinery is running at (http:\/\/127\.0\.0\.1:\d+)/;
/** printed once by the first start, before the "running at" line */
const OWNER_CREATED = /Created the owner account (\S+) .*\n\s+password: (\S+)/;

/** A fresh temporary directory, removed by the returned function. */
export async function makeTempDir(prefix: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), `refinery-${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface RunningProduct {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** the owner account created by the first start (sign in with it) */
  owner: { email: string; password: string };
  /** Everything the process printed so far (stdout + stderr), for failure messages. */
  output: () => string;
  stop: () => Promise<void>;
}

export interface StartProductOptions {
  env?: Record<string, string>;
  timeoutMs?: number;
}

/** Starts the built product with a fresh DATA_DIR and PORT=0 and waits for its "running at" line. */
export async function startProduct(options: StartProductOptions = {}): Promise<RunningProduct> {
  if (!existsSync(productEntry)) {
    throw new Error(`The product is not built: ${productEntry} does not exist. Run \`npm run build\` at the repo root first.`);
  }
  const data = await makeTempDir('data');
  const child = spawn(process.execPath, ['--enable-source-maps', productEntry, 'start'], {
    cwd: repoRoot,
    env: { ...process.env, PORT: '0', DATA_DIR: data.dir, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  async function stop(): Promise<void> {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await data.remove();
  }

  const timeoutMs = options.timeoutMs ?? 60_000;
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`The product did not print "Refinery is running at" within ${timeoutMs} ms.\n${output}`)),
        timeoutMs,
      );
      const onData = (chunk: Buffer) => {
        output += chunk.toString('utf8');
        const match = RUNNING_AT.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`The product exited early (code ${code}, signal ${signal}).\n${output}`));
      });
    });
    const env = { ...process.env, ...options.env };
    const printed = OWNER_CREATED.exec(output);
    const owner = {
      email: printed?.[1] ?? env['REFINERY_OWNER_EMAIL'] ?? 'owner@localhost',
      password: env['REFINERY_OWNER_PASSWORD'] ?? printed?.[2] ?? '',
    };
    if (!owner.password) throw new Error(`The product did not print the owner's password on its first start.\n${output}`);
    const product: RunningProduct = { url, dataDir: data.dir, child, owner, output: () => output, stop };
    lastStarted = product;
    return product;
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface LaunchedBrowser {
  context: BrowserContext;
  close: () => Promise<void>;
}

let lastStarted: RunningProduct | undefined;

/** Signs in through the product's sign-in page as its owner; the page ends on the projects page. */
export async function signIn(page: Page, product: RunningProduct): Promise<void> {
  await page.goto(`${product.url}/sign-in`);
  await page.getByLabel('E-mail').fill(product.owner.email);
  await page.getByLabel('Password').fill(product.owner.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Projects', level: 1 }).waitFor();
}

/**
 * Launches headless Debian Chromium with a fresh profile directory, signed in (through the
 * sign-in page) to `signInTo`: by default the product started last, `null` for no session.
 */
export async function launchBrowser(options: { signInTo?: RunningProduct | null } = {}): Promise<LaunchedBrowser> {
  const profile = await makeTempDir('chromium');
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const close = async () => {
    await context.close();
    await profile.remove();
  };
  const product = options.signInTo === undefined ? lastStarted : options.signInTo;
  if (product) {
    try {
      const page = await context.newPage();
      page.setDefaultTimeout(20_000);
      await signIn(page, product);
      await page.close();
    } catch (error) {
      await close();
      throw error;
    }
  }
  return { context, close };
}

/** Saves a full-page screenshot to test-results/screenshots/<name>.png (repo root). */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(screenshotsDir, { recursive: true });
  const file = path.join(screenshotsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Collects console errors and failed requests of a page, to print when a test fails. */
export function watchPage(page: Page): () => string[] {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  return () => problems;
}
