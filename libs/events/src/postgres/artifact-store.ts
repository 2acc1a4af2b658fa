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

/** 4 MiB chunks keep every row far below PostgreSQL's 1 GB field limit and bound per-statement memory. */
const CHUNK_BYTES = 4 * 1024 * 1024;

/**
 * Content-addressed blobs beside the log (tables by default). Events carry the hash; the same
 * content is stored once. Bytes travel as base64 text: PGlite serialises binary parameters
 * byte by byte (about 20x slower for large values), and the server takes text just as well.
 */
export class SqlArtifactStore implements ArtifactStore {
  constructor(private readonly sql: SqlExecutor) {}

  async put(bytes: Uint8Array, contentType = 'application/octet-stream'): Promise<string> {
    const hash = sha256Hex(bytes);
    if (await this.has(hash)) return hash;
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const chunks = Math.max(1, Math.ceil(buffer.byteLength / CHUNK_BYTES));
    await this.sql.transaction(async (tx) => {
      const inserted = await tx.query(
        'insert into artifacts (hash, size, content_type, chunks) values ($1, $2, $3, $4) on conflict (hash) do nothing',
        [hash, buffer.byteLength, contentType, chunks],
      );
      if (inserted.rowCount === 0) return; // stored concurrently by someone else
      for (let i = 0; i < chunks; i++) {
        const part = buffer.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES);
        await tx.query(`insert into artifact_chunks (hash, idx, bytes) values ($1, $2, decode($3, 'base64'))`, [hash, i, part.toString('base64')]);
      }
    });
    return hash;
  }

  async get(hash: string): Promise<{ bytes: Uint8Array; contentType: string } | undefined> {
    const head = await this.sql.query<{ content_type: string; size: string; chunks: number }>(
      'select content_type, size::text, chunks from artifacts where hash = $1',
      [hash],
    );
    const row = head.rows[0];
    if (!row) return undefined;
    const out = Buffer.allocUnsafe(Number(row.size));
    let offset = 0;
    for (let i = 0; i < row.chunks; i++) {
      const r = await this.sql.query<{ b64: string }>(`select encode(bytes, 'base64') as b64 from artifact_chunks where hash = $1 and idx = $2`, [hash, i]);
      const part = Buffer.from(r.rows[0]?.b64 ?? '', 'base64');
      part.copy(out, offset);
      offset += part.byteLength;
    }
    if (offset !== out.byteLength || sha256Hex(out) !== hash) throw new Error(`artifact ${hash} is incomplete or corrupted`);
    return { bytes: out, contentType: row.content_type };
  }

  async has(hash: string): Promise<boolean> {
    const r = await this.sql.query('select 1 from artifacts where hash = $1', [hash]);
    return r.rows.length > 0;
  }
}
