/** What kind of refusal a domain error is; the API maps it to a 4xx status. */
export type DomainErrorKind = 'not_found' | 'conflict' | 'invalid' | 'gone';

/** A command refused for a reason the user can act on. */
export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
