import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createProject, deleteProject, getProject, importContentType, listProjects, listRecords, uploadImport } from './client';
import { ApiError } from './errors';

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

describe('api client (fetch)', () => {
  const fetchMock = vi.fn<typeof fetch>();

  beforeEach(() => {
    fetchMock.mockReset();
    vi.stubGlobal('fetch', fetchMock);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('sends same-origin JSON requests and returns the body', async () => {
    fetchMock.mockResolvedValue(jsonResponse(201, { id: 'p1', revision: '1', position: '7' }));

    await expect(createProject('Reviews')).resolves.toEqual({ id: 'p1', revision: '1', position: '7' });

    const [url, init] = fetchMock.mock.calls[0]!;
    expect(url).toBe('/api/projects');
    expect(init).toMatchObject({ method: 'POST', credentials: 'same-origin', body: '{"name":"Reviews"}' });
    expect((init!.headers as Record<string, string>)['Content-Type']).toBe('application/json');
  });

  it('passes after, limit and cursor as query parameters and leaves out empty ones', async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { projects: [] }));
    await listProjects({ after: null });
    expect(fetchMock.mock.calls[0]![0]).toBe('/api/projects');

    fetchMock.mockResolvedValue(jsonResponse(200, { records: [], total: 0, nextCursor: null }));
    await listRecords('p 1', { limit: 25, cursor: 'abc/=', after: '12' });
    expect(fetchMock.mock.calls[1]![0]).toBe('/api/projects/p%201/records?limit=25&cursor=abc%2F%3D&after=12');

    fetchMock.mockResolvedValue(jsonResponse(200, { id: 'p1' }));
    await getProject('p1', { after: '9' });
    expect(fetchMock.mock.calls[2]![0]).toBe('/api/projects/p1?after=9');
  });

  it("turns the server's error shape into an ApiError", async () => {
    fetchMock.mockResolvedValue(
      jsonResponse(404, { error: { code: 'project_not_found', message: 'No such project', details: { id: 'x' } } }),
    );

    const error = await deleteProject('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'project_not_found', message: 'No such project', details: { id: 'x' }, status: 404 });
  });

  it('still produces an ApiError for non-JSON error bodies and network failures', async () => {
    fetchMock.mockResolvedValue(new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }));
    await expect(listProjects()).rejects.toMatchObject({ code: 'http_502', status: 502 });

    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    await expect(listProjects()).rejects.toMatchObject({ code: 'network_error', status: 0 });
  });
});

describe('importContentType', () => {
  it('chooses the Content-Type from the file extension', () => {
    expect(importContentType('data.csv')).toBe('text/csv');
    expect(importContentType('DATA.CSV')).toBe('text/csv');
    expect(importContentType('data.json')).toBe('application/json');
    expect(importContentType('data.jsonl')).toBe('application/x-ndjson');
    expect(importContentType('data.ndjson')).toBe('application/x-ndjson');
    expect(importContentType('data.xlsx')).toBeNull();
    expect(importContentType('csv')).toBeNull();
  });
});

/** Minimal stand-in for XMLHttpRequest, driven by the test. */
class FakeXhr {
  static last: FakeXhr | null = null;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: unknown;
  status = 0;
  statusText = '';
  responseText = '';
  responseType = '';
  upload: { onprogress: ((event: ProgressEvent) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;

  constructor() {
    FakeXhr.last = this;
  }
  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  send(body: unknown): void {
    this.body = body;
  }
  abort(): void {
    this.onabort?.();
  }
  respond(status: number, body: unknown): void {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

describe('uploadImport (XMLHttpRequest)', () => {
  beforeEach(() => {
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
  });
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('posts the raw file with a Content-Type from its extension and reports progress', async () => {
    const file = new File(['a,b\n1,2\n'], 'rows.jsonl');
    const progress: unknown[] = [];
    const promise = uploadImport('p1', file, { primaryKey: ' id ', onProgress: (p) => progress.push(p) });
    const xhr = FakeXhr.last!;

    expect(xhr.method).toBe('POST');
    expect(xhr.url).toBe('/api/projects/p1/imports?primaryKey=id');
    expect(xhr.headers['Content-Type']).toBe('application/x-ndjson');
    expect(xhr.body).toBe(file);

    xhr.upload.onprogress?.({ loaded: 4, total: 8, lengthComputable: true } as ProgressEvent);
    xhr.respond(201, { importId: 'i1', records: 1, position: '5' });

    await expect(promise).resolves.toEqual({ importId: 'i1', records: 1, position: '5' });
    expect(progress).toEqual([{ loaded: 4, total: 8 }]);
  });

  it('omits an empty primary key', () => {
    void uploadImport('p1', new File(['x'], 'a.csv'), { primaryKey: '  ' });
    expect(FakeXhr.last!.url).toBe('/api/projects/p1/imports');
  });

  it('rejects with the server error including details', async () => {
    const promise = uploadImport('p1', new File(['x'], 'a.csv'));
    FakeXhr.last!.respond(400, { error: { code: 'malformed_csv', message: 'Bad row', details: { line: 3 } } });
    await expect(promise).rejects.toMatchObject({ code: 'malformed_csv', message: 'Bad row', details: { line: 3 }, status: 400 });
  });

  it('rejects unsupported extensions without a request', async () => {
    FakeXhr.last = null;
    await expect(uploadImport('p1', new File(['x'], 'a.txt'))).rejects.toMatchObject({ code: 'unsupported_file_type' });
    expect(FakeXhr.last).toBeNull();
  });
});
