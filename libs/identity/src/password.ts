import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { PasswordHash } from '@refinery/events';

/**
 * scrypt with N = 2^15, r = 8, p = 1 (32 MiB, ~50–100 ms on a server core; OWASP's minimum is
 * N = 2^17 with r = 8 for interactive logins at 128 MiB, we stay below that for a 2-core
 * all-in-one process and store the parameters with every hash so they can be raised later:
 * a hash with weaker parameters is re-hashed at the next successful sign-in).
 */
export const DEFAULT_SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLength: 64, saltBytes: 16 } as const;
export type ScryptParams = { N: number; r: number; p: number; keyLength: number; saltBytes: number };

export const PASSWORD_MIN_LENGTH = 8;
/** long passwords are fine, but not megabytes of input to a deliberately slow function */
export const PASSWORD_MAX_LENGTH = 1024;

function derive(password: string, salt: Buffer, params: Pick<ScryptParams, 'N' | 'r' | 'p' | 'keyLength'>): Promise<Buffer> {
  const options: ScryptOptions = { N: params.N, r: params.r, p: params.p, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, params.keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** Hashes a password with a fresh random salt; the result holds everything needed to verify it. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<PasswordHash> {
  const salt = randomBytes(params.saltBytes);
  const key = await derive(password, salt, params);
  return { algorithm: 'scrypt', N: params.N, r: params.r, p: params.p, keyLength: params.keyLength, salt: salt.toString('base64'), hash: key.toString('base64') };
}

/** Constant-time comparison of the derived key with the stored one. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  if (stored.algorithm !== 'scrypt') return false;
  const expected = Buffer.from(stored.hash, 'base64');
  const actual = await derive(password, Buffer.from(stored.salt, 'base64'), stored);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** True when a stored hash uses weaker parameters than the current defaults (re-hash it). */
export function needsRehash(stored: PasswordHash, params: ScryptParams = DEFAULT_SCRYPT): boolean {
  return stored.N < params.N || stored.r < params.r || stored.p < params.p || stored.keyLength < params.keyLength;
}

let dummy: Promise<PasswordHash> | undefined;
/**
 * Spends the same time as a real verification, for sign-ins with an unknown e-mail address,
 * so response times do not tell which addresses have accounts.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummy ??= hashPassword('refinery-dummy-password');
  await verifyPassword(password, await dummy);
  return false;
}

/** A message saying what is wrong with a new password, or undefined when it is acceptable. */
export function passwordProblem(password: string, context: { email?: string } = {}): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) return `use at least ${PASSWORD_MIN_LENGTH} characters`;
  if (password.length > PASSWORD_MAX_LENGTH) return `use at most ${PASSWORD_MAX_LENGTH} characters`;
  if (context.email && password.trim().toLowerCase() === context.email.trim().toLowerCase()) return 'do not use your e-mail address as the password';
  return undefined;
}

/** A random password for the first owner: 24 characters of base64url (144 bits). */
export function generatePassword(): string {
  return randomBytes(18).toString('base64url');
}
