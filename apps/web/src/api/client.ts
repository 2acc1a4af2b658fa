/**
 * The only module that talks HTTP to the refinery server.
 * Every function rejects with an {@link ApiError}; requests are same-origin with cookies
 * (`credentials: 'same-origin'`) so a session cookie added later just works.
 */
import { ApiError, apiErrorFromBody } from './errors';
import type {
  CreatedProject,
  ImportContentType,
  ImportResult,
  Project,
  RecordItem,
  RecordsPage,
  UploadProgress,
  WriteResult,
} from './types';
import type {
  AnswerInput,
  CreatedResult,
  ExportFormat,
  LabelingSession,
  LabelInput,
  NewSession,
  NewSlice,
  NewTask,
  RecordLabels,
  RecordTokens,
  SearchPage,
  SearchRequest,
  SessionRecordsPage,
  Slice,
  TasksConfig,
} from './types';
import type {
  Heuristic,
  HeuristicChanges,
  HeuristicDetail,
  HeuristicRun,
  LookupList,
  LookupListInput,
  NewHeuristic,
  RunRequested,
} from './types';
import type { WeakLabel, WsConfig, WsConfigChanges, WsConfusion, WsModel, WsRun } from './types';

type Query = Record<string, string | number | null | undefined>;

function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

// --- session: CSRF token and the "signed out" signal -----------------------------------------

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The session's CSRF token from the readable `refinery_csrf` cookie (the server checks it on unsafe methods). */
export function csrfToken(): string | null {
  if (typeof document === 'undefined') return null;
  const match = /(?:^|;\s*)refinery_csrf=([^;]+)/.exec(document.cookie);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

let onUnauthenticated: (() => void) | undefined;
/** Called when a request is refused with 401 (no or expired session): the router sends the user to /sign-in. */
export function setUnauthenticatedHandler(handler: (() => void) | undefined): void {
  onUnauthenticated = handler;
}
function unauthenticated(status: number, path: string): void {
  if (status === 401 && !path.startsWith('/api/auth/') && !path.startsWith('/api/invitations/')) onUnauthenticated?.();
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

/** One JSON request (exported for the feature modules beside this one, e.g. ./metrics.ts). */
export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (options.signal) init.signal = options.signal;
  const csrf = SAFE_METHODS.has(method.toUpperCase()) ? null : csrfToken();
  if (csrf) headers['X-CSRF-Token'] = csrf;

  let response: Response;
  try {
    response = await fetch(buildUrl(path, options.query), init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError({
      code: 'network_error',
      message: 'Could not reach the refinery server. Check your connection and try again.',
      status: 0,
    });
  }

  const text = await response.text();
  const body = parseJson(text);
  if (!response.ok) {
    unauthenticated(response.status, path);
    throw apiErrorFromBody(response.status, body, response.statusText);
  }
  if (body === undefined && text) {
    throw new ApiError({ code: 'invalid_response', message: 'The server sent a response that is not JSON.', status: response.status });
  }
  return body as T;
}

const enc = encodeURIComponent;

// --- projects -------------------------------------------------------------------------------

export async function listProjects(options: { after?: string | null } = {}): Promise<Project[]> {
  const body = await request<{ projects: Project[] }>('GET', '/api/projects', { query: { after: options.after } });
  return body.projects;
}

export function getProject(id: string, options: { after?: string | null } = {}): Promise<Project> {
  return request<Project>('GET', `/api/projects/${enc(id)}`, { query: { after: options.after } });
}

export function createProject(name: string): Promise<CreatedProject> {
  return request<CreatedProject>('POST', '/api/projects', { body: { name } });
}

export function renameProject(id: string, name: string): Promise<WriteResult> {
  return request<WriteResult>('PATCH', `/api/projects/${enc(id)}`, { body: { name } });
}

export function deleteProject(id: string): Promise<WriteResult> {
  return request<WriteResult>('DELETE', `/api/projects/${enc(id)}`);
}

// --- records --------------------------------------------------------------------------------

export interface ListRecordsOptions {
  limit?: number;
  cursor?: string | null;
  after?: string | null;
  signal?: AbortSignal;
}

export function listRecords(projectId: string, options: ListRecordsOptions = {}): Promise<RecordsPage> {
  const query = { limit: options.limit, cursor: options.cursor, after: options.after };
  return request<RecordsPage>('GET', `/api/projects/${enc(projectId)}/records`, {
    query,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export function getRecord(projectId: string, recordId: string): Promise<RecordItem> {
  return request<RecordItem>('GET', `/api/projects/${enc(projectId)}/records/${enc(recordId)}`);
}

// --- imports --------------------------------------------------------------------------------

/** Content-Type for an import file, chosen from its extension; null if unsupported. */
export function importContentType(fileName: string): ImportContentType | null {
  const dot = fileName.lastIndexOf('.');
  if (dot < 0) return null;
  const ext = fileName.slice(dot + 1).toLowerCase();
  if (ext === 'csv') return 'text/csv';
  if (ext === 'json') return 'application/json';
  if (ext === 'jsonl' || ext === 'ndjson') return 'application/x-ndjson';
  return null;
}

export interface UploadImportOptions {
  primaryKey?: string | null;
  onProgress?: (progress: UploadProgress) => void;
  signal?: AbortSignal;
}

/**
 * Uploads the raw file bytes. Uses XMLHttpRequest because fetch has no upload progress events
 * (a same-origin XHR sends cookies just like `credentials: 'same-origin'`).
 */
export function uploadImport(projectId: string, file: File, options: UploadImportOptions = {}): Promise<ImportResult> {
  const contentType = importContentType(file.name);
  if (!contentType) {
    return Promise.reject(
      new ApiError({
        code: 'unsupported_file_type',
        message: 'Choose a .csv, .json, .jsonl or .ndjson file.',
        status: 0,
        details: { file: file.name },
      }),
    );
  }
  const primaryKey = options.primaryKey?.trim();
  const url = buildUrl(`/api/projects/${enc(projectId)}/imports`, { primaryKey });

  return new Promise<ImportResult>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.responseType = 'text';
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.setRequestHeader('Accept', 'application/json');
    const csrf = csrfToken();
    if (csrf) xhr.setRequestHeader('X-CSRF-Token', csrf);

    xhr.upload.onprogress = (event: ProgressEvent) => {
      options.onProgress?.({ loaded: event.loaded, total: event.lengthComputable ? event.total : null });
    };
    xhr.onload = () => {
      const body = parseJson(xhr.responseText);
      if (xhr.status >= 200 && xhr.status < 300 && body !== undefined) {
        resolve(body as ImportResult);
      } else if (xhr.status >= 200 && xhr.status < 300) {
        reject(new ApiError({ code: 'invalid_response', message: 'The server sent a response that is not JSON.', status: xhr.status }));
      } else {
        unauthenticated(xhr.status, url);
        reject(apiErrorFromBody(xhr.status, body, xhr.statusText));
      }
    };
    xhr.onerror = () => {
      reject(new ApiError({ code: 'network_error', message: 'The upload failed: the server could not be reached.', status: 0 }));
    };
    xhr.onabort = () => {
      reject(new ApiError({ code: 'aborted', message: 'The upload was cancelled.', status: 0 }));
    };
    if (options.signal) {
      if (options.signal.aborted) {
        reject(new ApiError({ code: 'aborted', message: 'The upload was cancelled.', status: 0 }));
        return;
      }
      options.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(file);
  });
}

// --- labeling -------------------------------------------------------------------------------

const projectPath = (projectId: string) => `/api/projects/${enc(projectId)}`;
const recordPath = (projectId: string, recordId: string) => `${projectPath(projectId)}/records/${enc(recordId)}`;

export function getTasks(projectId: string, options: { after?: string | null } = {}): Promise<TasksConfig> {
  return request<TasksConfig>('GET', `${projectPath(projectId)}/tasks`, { query: { after: options.after } });
}

export function createTask(projectId: string, task: NewTask): Promise<CreatedResult> {
  return request<CreatedResult>('POST', `${projectPath(projectId)}/tasks`, { body: task });
}

export function renameTask(projectId: string, taskId: string, name: string): Promise<WriteResult> {
  return request<WriteResult>('PATCH', `${projectPath(projectId)}/tasks/${enc(taskId)}`, { body: { name } });
}

export function deleteTask(projectId: string, taskId: string): Promise<WriteResult> {
  return request<WriteResult>('DELETE', `${projectPath(projectId)}/tasks/${enc(taskId)}`);
}

export function createLabel(projectId: string, taskId: string, label: LabelInput & { name: string }): Promise<CreatedResult> {
  return request<CreatedResult>('POST', `${projectPath(projectId)}/tasks/${enc(taskId)}/labels`, { body: label });
}

export function updateLabel(projectId: string, taskId: string, labelId: string, changes: LabelInput): Promise<WriteResult> {
  return request<WriteResult>('PATCH', `${projectPath(projectId)}/tasks/${enc(taskId)}/labels/${enc(labelId)}`, { body: changes });
}

export function deleteLabel(projectId: string, taskId: string, labelId: string): Promise<WriteResult> {
  return request<WriteResult>('DELETE', `${projectPath(projectId)}/tasks/${enc(taskId)}/labels/${enc(labelId)}`);
}

export function mergeLabels(projectId: string, taskId: string, sourceLabelIds: string[], targetLabelId: string): Promise<WriteResult> {
  return request<WriteResult>('POST', `${projectPath(projectId)}/tasks/${enc(taskId)}/labels/merge`, {
    body: { sourceLabelIds, targetLabelId },
  });
}

export function setLabelingSettings(projectId: string, settings: { blindLabeling: boolean }): Promise<WriteResult> {
  return request<WriteResult>('PATCH', `${projectPath(projectId)}/labeling-settings`, { body: settings });
}

export function getTokens(projectId: string, recordId: string, attribute: string, options: { after?: string | null } = {}): Promise<RecordTokens> {
  return request<RecordTokens>('GET', `${recordPath(projectId, recordId)}/tokens`, { query: { attribute, after: options.after } });
}

export function getRecordLabels(projectId: string, recordId: string, options: { after?: string | null } = {}): Promise<RecordLabels> {
  return request<RecordLabels>('GET', `${recordPath(projectId, recordId)}/labels`, { query: { after: options.after } });
}

/** Sets the caller's whole answer for one task (empty arrays clear it). */
export function putAnswer(
  projectId: string,
  recordId: string,
  taskId: string,
  answer: AnswerInput,
  expectedRevision?: string | null,
): Promise<WriteResult> {
  const body: AnswerInput & { expectedRevision?: string } = { ...answer };
  if (expectedRevision) body.expectedRevision = expectedRevision;
  return request<WriteResult>('PUT', `${recordPath(projectId, recordId)}/labels/${enc(taskId)}`, { body });
}

export function putGold(projectId: string, recordId: string, taskId: string, answer: AnswerInput): Promise<WriteResult> {
  return request<WriteResult>('PUT', `${recordPath(projectId, recordId)}/gold/${enc(taskId)}`, { body: answer });
}

export function deleteGold(projectId: string, recordId: string, taskId: string): Promise<WriteResult> {
  return request<WriteResult>('DELETE', `${recordPath(projectId, recordId)}/gold/${enc(taskId)}`);
}

export function addComment(projectId: string, recordId: string, body: string): Promise<CreatedResult> {
  return request<CreatedResult>('POST', `${recordPath(projectId, recordId)}/comments`, { body: { body } });
}

export function deleteComment(projectId: string, recordId: string, commentId: string): Promise<WriteResult> {
  return request<WriteResult>('DELETE', `${recordPath(projectId, recordId)}/comments/${enc(commentId)}`);
}

/**
 * The caller's user id as the server names annotators (`GET /api/auth/me`), or null when the
 * server does not know the caller (no sign-in, or a server without accounts).
 */
export async function whoAmI(): Promise<string | null> {
  try {
    const body = await request<{ user?: { id?: string } }>('GET', '/api/auth/me');
    return body.user?.id ?? null;
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 404)) return null;
    throw error;
  }
}

// --- accounts: sign-in, sign-out, invitations -------------------------------------------------

export interface SessionUser {
  id: string;
  email: string;
  displayName: string;
  admin: boolean;
  createdAt: string;
}

export interface Me {
  user: SessionUser;
  method: 'session' | 'api-token' | 'external';
  csrfToken: string | null;
  memberships: { projectId: string; role: 'owner' | 'engineer' | 'expert' | 'annotator' }[];
}

export interface InvitationInfo {
  email: string;
  projectId: string | null;
  projectName: string | null;
  role: 'owner' | 'engineer' | 'expert' | 'annotator' | null;
  expiresAt: string;
  status: 'pending' | 'accepted' | 'expired';
}

/** The signed-in user, or null without a session (never redirects). */
export async function getMe(): Promise<Me | null> {
  try {
    return await request<Me>('GET', '/api/auth/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export function signIn(email: string, password: string): Promise<{ user: SessionUser; csrfToken: string }> {
  return request('POST', '/api/auth/sign-in', { body: { email, password } });
}

export function signOut(): Promise<{ signedOut: true }> {
  return request('POST', '/api/auth/sign-out');
}

export function getInvitation(token: string): Promise<InvitationInfo> {
  return request<InvitationInfo>('GET', `/api/invitations/${enc(token)}`);
}

export function acceptInvitation(token: string, name: string, password: string): Promise<{ user: SessionUser; csrfToken: string; projectId: string | null }> {
  return request('POST', `/api/invitations/${enc(token)}/accept`, { body: { name, password } });
}

// --- data browser: search, slices, sessions, export -----------------------------------------

export function searchRecords(projectId: string, search: SearchRequest, options: { signal?: AbortSignal } = {}): Promise<SearchPage> {
  return request<SearchPage>('POST', `${projectPath(projectId)}/records/search`, {
    body: search,
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export async function listSlices(projectId: string, options: { after?: string | null } = {}): Promise<Slice[]> {
  const body = await request<{ slices: Slice[] } | Slice[]>('GET', `${projectPath(projectId)}/slices`, { query: { after: options.after } });
  return Array.isArray(body) ? body : body.slices;
}

export function createSlice(projectId: string, slice: NewSlice): Promise<CreatedResult> {
  return request<CreatedResult>('POST', `${projectPath(projectId)}/slices`, { body: slice });
}

export function deleteSlice(projectId: string, sliceId: string): Promise<WriteResult> {
  return request<WriteResult>('DELETE', `${projectPath(projectId)}/slices/${enc(sliceId)}`);
}

export async function createSession(projectId: string, session: NewSession): Promise<{ id: string; total: number; position?: string }> {
  return request<{ id: string; total: number; position?: string }>('POST', `${projectPath(projectId)}/sessions`, { body: session });
}

export async function getSession(projectId: string, sessionId: string, options: { after?: string | null } = {}): Promise<LabelingSession> {
  const body = await request<Partial<LabelingSession> & { id: string }>('GET', `${projectPath(projectId)}/sessions/${enc(sessionId)}`, {
    query: { after: options.after },
  });
  return normalizeSession(body);
}

function normalizeSession(body: Partial<LabelingSession> & { id: string }): LabelingSession {
  const session: LabelingSession = { id: body.id, name: body.name ?? null, owner: body.owner ?? null, total: body.total ?? 0, labeled: body.labeled ?? 0 };
  if (body.startedAt) session.startedAt = body.startedAt;
  return session;
}

/** The caller's labeling sessions, newest first. */
export async function listSessions(projectId: string, options: { after?: string | null } = {}): Promise<LabelingSession[]> {
  const body = await request<{ sessions: (Partial<LabelingSession> & { id: string })[] }>('GET', `${projectPath(projectId)}/sessions`, {
    query: { after: options.after },
  });
  return body.sessions.map(normalizeSession);
}

type RawSessionRecords = {
  recordIds?: string[];
  records?: (string | { id: string })[];
  nextCursor?: string | null;
  prevCursor?: string | null;
  previousCursor?: string | null;
};

/** Record ids of a session in session order (accepts `recordIds` or `records` in the answer). */
export async function listSessionRecords(
  projectId: string,
  sessionId: string,
  options: { cursor?: string | null; limit?: number; direction?: 'next' | 'prev'; after?: string | null } = {},
): Promise<SessionRecordsPage> {
  const body = await request<RawSessionRecords>('GET', `${projectPath(projectId)}/sessions/${enc(sessionId)}/records`, {
    query: { cursor: options.cursor, limit: options.limit, direction: options.direction, after: options.after },
  });
  const ids = body.recordIds ?? (body.records ?? []).map((r) => (typeof r === 'string' ? r : r.id));
  return { recordIds: ids, nextCursor: body.nextCursor ?? null, prevCursor: body.prevCursor ?? body.previousCursor ?? null };
}

/** The URL of an export download (a plain link: the browser handles the file). */
/** `minConfidence` (0–1) leaves out weak-supervision labels below it; without it each task's configured minimum applies. */
export function exportUrl(projectId: string, options: { format: ExportFormat; sliceId?: string | null; sessionId?: string | null; minConfidence?: number | null }): string {
  return buildUrl(`${projectPath(projectId)}/export`, {
    format: options.format,
    sliceId: options.sliceId,
    sessionId: options.sessionId,
    minConfidence: options.minConfidence,
  });
}

// --- health ---------------------------------------------------------------------------------

/** True when `GET /readyz` answers 2xx. Never throws. */
export async function checkReady(): Promise<boolean> {
  try {
    const response = await fetch('/readyz', { credentials: 'same-origin', cache: 'no-store' });
    return response.ok;
  } catch {
    return false;
  }
}

// --- heuristics and lookup lists (docs/heuristics.md) ---------------------------------------

const heuristicPath = (projectId: string, heuristicId: string) => `${projectPath(projectId)}/heuristics/${enc(heuristicId)}`;

export async function listHeuristics(projectId: string, options: { after?: string | null } = {}): Promise<Heuristic[]> {
  const body = await request<{ heuristics: Heuristic[] }>('GET', `${projectPath(projectId)}/heuristics`, { query: { after: options.after } });
  return body.heuristics;
}

export function getHeuristic(projectId: string, heuristicId: string, options: { after?: string | null } = {}): Promise<HeuristicDetail> {
  return request<HeuristicDetail>('GET', heuristicPath(projectId, heuristicId), { query: { after: options.after } });
}

export function createHeuristic(projectId: string, heuristic: NewHeuristic): Promise<CreatedResult> {
  return request<CreatedResult>('POST', `${projectPath(projectId)}/heuristics`, { body: heuristic });
}

export function updateHeuristic(projectId: string, heuristicId: string, changes: HeuristicChanges): Promise<WriteResult> {
  return request<WriteResult>('PATCH', heuristicPath(projectId, heuristicId), { body: changes });
}

export function deleteHeuristic(projectId: string, heuristicId: string): Promise<WriteResult> {
  return request<WriteResult>('DELETE', heuristicPath(projectId, heuristicId));
}

export function runHeuristic(projectId: string, heuristicId: string, options: { sample?: number } = {}): Promise<RunRequested> {
  const body = options.sample !== undefined ? { sample: options.sample } : {};
  return request<RunRequested>('POST', `${heuristicPath(projectId, heuristicId)}/runs`, { body });
}

export function getHeuristicRun(projectId: string, heuristicId: string, runId: string, options: { after?: string | null } = {}): Promise<HeuristicRun> {
  return request<HeuristicRun>('GET', `${heuristicPath(projectId, heuristicId)}/runs/${enc(runId)}`, { query: { after: options.after } });
}

export function cancelHeuristicRun(projectId: string, heuristicId: string, runId: string): Promise<WriteResult> {
  return request<WriteResult>('POST', `${heuristicPath(projectId, heuristicId)}/runs/${enc(runId)}/cancel`);
}

export async function listLookupLists(projectId: string, options: { after?: string | null } = {}): Promise<LookupList[]> {
  const body = await request<{ lookupLists: LookupList[] }>('GET', `${projectPath(projectId)}/lookup-lists`, { query: { after: options.after } });
  return body.lookupLists;
}

export function createLookupList(projectId: string, list: LookupListInput): Promise<CreatedResult> {
  return request<CreatedResult>('POST', `${projectPath(projectId)}/lookup-lists`, { body: list });
}

export function saveLookupList(projectId: string, listId: string, list: LookupListInput): Promise<WriteResult> {
  return request<WriteResult>('PUT', `${projectPath(projectId)}/lookup-lists/${enc(listId)}`, { body: list });
}

export function deleteLookupList(projectId: string, listId: string): Promise<WriteResult> {
  return request<WriteResult>('DELETE', `${projectPath(projectId)}/lookup-lists/${enc(listId)}`);
}

// --- weak supervision (docs/weak-supervision.md) --------------------------------------------

const wsPath = (projectId: string, taskId: string) => `${projectPath(projectId)}/tasks/${enc(taskId)}/weak-supervision`;

export function getWeakSupervision(projectId: string, taskId: string, options: { after?: string | null } = {}): Promise<{ config: WsConfig; runs: WsRun[] }> {
  return request<{ config: WsConfig; runs: WsRun[] }>('GET', wsPath(projectId, taskId), { query: { after: options.after } });
}

export function configureWeakSupervision(projectId: string, taskId: string, changes: WsConfigChanges): Promise<WriteResult> {
  return request<WriteResult>('PUT', wsPath(projectId, taskId), { body: changes });
}

export function runWeakSupervision(projectId: string, taskId: string, options: { heuristicIds?: string[]; model?: WsModel } = {}): Promise<WriteResult & { runId: string }> {
  return request<WriteResult & { runId: string }>('POST', `${wsPath(projectId, taskId)}/runs`, { body: options });
}

export function getWeakSupervisionRun(projectId: string, runId: string, options: { after?: string | null } = {}): Promise<WsRun> {
  return request<WsRun>('GET', `${projectPath(projectId)}/weak-supervision/runs/${enc(runId)}`, { query: { after: options.after } });
}

export function getWeakSupervisionConfusion(projectId: string, taskId: string, options: { after?: string | null } = {}): Promise<WsConfusion> {
  return request<WsConfusion>('GET', `${wsPath(projectId, taskId)}/confusion`, { query: { after: options.after } });
}

export async function getRecordWeakLabels(projectId: string, recordId: string, options: { after?: string | null } = {}): Promise<WeakLabel[]> {
  const body = await request<{ weakLabels: WeakLabel[] }>('GET', `${projectPath(projectId)}/records/${enc(recordId)}/weak-labels`, { query: { after: options.after } });
  return body.weakLabels;
}
