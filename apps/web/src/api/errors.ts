/**
 * The typed error every API call rejects with.
 * Mirrors the server's error body `{ error: { code, message, details } }` plus the HTTP status
 * (0 when the request never reached the server).
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: string;
  readonly details: Record<string, unknown>;
  readonly status: number;

  constructor(init: { code: string; message: string; status: number; details?: Record<string, unknown> }) {
    super(init.message);
    this.code = init.code;
    this.status = init.status;
    this.details = init.details ?? {};
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Builds an ApiError from a parsed (or unparseable) error response body. */
export function apiErrorFromBody(status: number, body: unknown, statusText = ''): ApiError {
  const error = isRecord(body) ? body['error'] : undefined;
  if (isRecord(error) && typeof error['code'] === 'string' && typeof error['message'] === 'string') {
    return new ApiError({
      code: error['code'],
      message: error['message'],
      status,
      details: isRecord(error['details']) ? error['details'] : {},
    });
  }
  return new ApiError({
    code: `http_${status}`,
    message: statusText ? `Request failed: ${status} ${statusText}` : `Request failed with status ${status}`,
    status,
  });
}

/** Normalises anything thrown into an ApiError (for display). */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof Error) return new ApiError({ code: 'client_error', message: error.message, status: 0 });
  return new ApiError({ code: 'client_error', message: String(error), status: 0 });
}
