import type { ErrorRequestHandler } from 'express';
import { InvalidPositionError, WrongExpectedRevisionError, IdempotencyConflictError, InvalidEventError } from '@refinery/events';
import { DomainError, type DomainErrorKind } from '@refinery/domain';
import { ImportError } from '@refinery/importing';

/** The one error shape of the API: `{ "error": { "code", "message", "details" } }`. */
export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const DOMAIN_STATUS: Record<DomainErrorKind, number> = { not_found: 404, conflict: 409, invalid: 422, gone: 410 };

const IMPORT_STATUS: Partial<Record<string, number>> = { file_too_large: 413, unsupported_format: 415 };

function bigintSafe(value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** Maps any thrown error to a status and the error shape; unexpected ones are 500 and logged. */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof DomainError) return new HttpError(DOMAIN_STATUS[err.kind], err.code, err.message, err.details);
  if (err instanceof ImportError) return new HttpError(IMPORT_STATUS[err.code] ?? 422, err.code, err.message, err.details);
  if (err instanceof WrongExpectedRevisionError) {
    return new HttpError(409, 'stale_revision', err.message, {
      streamId: err.streamId,
      expectedRevision: bigintSafe(err.expected),
      currentRevision: err.actual === undefined ? null : err.actual.toString(),
    });
  }
  if (err instanceof IdempotencyConflictError) return new HttpError(409, 'idempotency_conflict', err.message, { eventIds: err.eventIds });
  if (err instanceof InvalidPositionError) return new HttpError(400, 'invalid_position', err.message, { value: err.value });
  if (err instanceof InvalidEventError) {
    return new HttpError(422, 'invalid_command', err.message, { issues: err.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
  }
  const e = err as { type?: string; status?: number; limit?: number; length?: number; message?: string };
  // Errors raised by Express's body parsers carry a `type`.
  if (e?.type === 'entity.too.large') {
    return new HttpError(413, 'file_too_large', `the request body is larger than the limit of ${e.limit} bytes`, { limit: e.limit, size: e.length });
  }
  if (e?.type === 'entity.parse.failed') return new HttpError(400, 'malformed_json', `the request body is not valid JSON: ${e.message}`);
  if (typeof e?.type === 'string' && typeof e.status === 'number' && e.status < 500) {
    return new HttpError(e.status, 'invalid_request_body', e.message ?? 'the request body could not be read');
  }
  return new HttpError(500, 'internal_error', 'an unexpected error occurred; it has been logged');
}

export function errorBody(err: HttpError): ErrorBody {
  return { error: { code: err.code, message: err.message, details: err.details } };
}

export function errorHandler(log: (message: string) => void): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const httpError = toHttpError(err);
    if (httpError.status >= 500) log(`${req.method} ${req.originalUrl} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const send = () => res.status(httpError.status).json(errorBody(httpError));
    // Answer a rejected upload only after draining it, or the client sees a reset instead of the error.
    if (!req.complete && req.readable) {
      req.on('end', send);
      req.on('error', send);
      req.resume();
    } else send();
  };
}
