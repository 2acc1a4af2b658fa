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

interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, headers, credentials: 'same-origin' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  if (options.signal) init.signal = options.signal;

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
  if (!response.ok) throw apiErrorFromBody(response.status, body, response.statusText);
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
