import http from 'node:http';

/** Keep-alive connections for load generators: Node's `fetch` (undici) cost a load generator ~2 ms of CPU per request. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface CallOptions {
  /** a string is sent as is (with `type`), anything else as JSON */
  body?: unknown;
  type?: string;
  token: string;
}

/**
 * One API request on a kept-alive connection; resolves with the JSON body of a 2xx answer and
 * rejects with method, path, status and body otherwise.
 */
export function httpCall(url: string, method: string, path: string, options: CallOptions, retry = true): Promise<Record<string, unknown>> {
  const { body, type = 'application/json', token } = options;
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${path}`,
      {
        method,
        agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload !== undefined ? { 'content-type': type, 'content-length': Buffer.byteLength(payload) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const text = Buffer.concat(chunks).toString('utf8');
            const json = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
            if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${JSON.stringify(json)}`));
            else resolve(json);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException) => {
      // A kept-alive socket the server closed while idle: send again once on a new one (as
      // browsers do; the Node docs' `reusedSocket` pattern). Callers send idempotent requests.
      if (retry && req.reusedSocket && err.code === 'ECONNRESET') httpCall(url, method, path, options, false).then(resolve, reject);
      else reject(err);
    });
    req.end(payload);
  });
}
