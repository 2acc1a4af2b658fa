import { createHash } from 'node:crypto';
import type { SqlExecutor } from '../sql.ts';

export interface ArtifactStore {
  /** stores the bytes (once per content) and returns their SHA-256 in hex */
  put(bytes: Uint8Array, contentType?: string): Promise<string>;
  get(hash: string): Promise<{ bytes: Uint8Array; contentType: string } | undefined>;
  has(hash: string): Promise<boolean>;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Content-addressed blobs beside the log (a table by default). Events carry the hash; the
 * same content is stored once. Runs in the caller's transaction when given one.
 */
export class SqlArtifactStore implements ArtifactStore {
  constructor(private readonly sql: SqlExecutor) {}

  withTransaction(tx: SqlExecutor): SqlArtifactStore {
    return new SqlArtifactStore(tx);
  }

  async put(bytes: Uint8Array, contentType = 'application/octet-stream'): Promise<string> {
    const hash = sha256Hex(bytes);
    await this.sql.query(
      'insert into artifacts (hash, size, content_type, bytes) values ($1, $2, $3, $4) on conflict (hash) do nothing',
      [hash, bytes.byteLength, contentType, bytes],
    );
    return hash;
  }

  async get(hash: string): Promise<{ bytes: Uint8Array; contentType: string } | undefined> {
    const r = await this.sql.query<{ bytes: Uint8Array; content_type: string }>(
      'select bytes, content_type from artifacts where hash = $1',
      [hash],
    );
    const row = r.rows[0];
    return row ? { bytes: new Uint8Array(row.bytes), contentType: row.content_type } : undefined;
  }

  async has(hash: string): Promise<boolean> {
    const r = await this.sql.query('select 1 from artifacts where hash = $1', [hash]);
    return r.rows.length > 0;
  }
}
