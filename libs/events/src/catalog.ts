import { z } from 'zod';
import type { Event } from './envelope.ts';

/**
 * One catalog of event types. Every type has a runtime schema and a version; data written
 * with an older version is upcast on read, step by step, and never rewritten in the log.
 */
export interface EventDefinition<T extends string = string, S extends z.ZodType = z.ZodType> {
  readonly type: T;
  readonly version: number;
  readonly schema: S;
  /** upcasters[n] turns data of version n into data of version n + 1 */
  readonly upcasters: Readonly<Record<number, (data: unknown) => unknown>>;
}

export function defineEvent<T extends string, S extends z.ZodType>(def: {
  type: T;
  version?: number;
  schema: S;
  upcasters?: Record<number, (data: unknown) => unknown>;
}): EventDefinition<T, S> {
  const version = def.version ?? 1;
  for (let v = 1; v < version; v++) {
    if (!def.upcasters?.[v]) throw new Error(`event ${def.type} v${version} lacks an upcaster from v${v}`);
  }
  return { type: def.type, version, schema: def.schema, upcasters: def.upcasters ?? {} };
}

export type EventOf<D extends EventDefinition> = D extends EventDefinition<infer T, infer S> ? Event<T, z.output<S>> : never;

export class UnknownEventTypeError extends Error {
  constructor(readonly eventType: string) {
    super(`unknown event type "${eventType}"`);
    this.name = 'UnknownEventTypeError';
  }
}

export class InvalidEventError extends Error {
  constructor(
    readonly eventType: string,
    readonly issues: z.core.$ZodIssue[],
  ) {
    super(`invalid ${eventType} event: ${issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    this.name = 'InvalidEventError';
  }
}

export class NewerSchemaError extends Error {
  constructor(
    readonly eventType: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(`event ${eventType} has schema v${found}, newer than v${supported} known to this build; upgrade the product to read this log`);
    this.name = 'NewerSchemaError';
  }
}

export class EventCatalog {
  private readonly byType = new Map<string, EventDefinition>();

  constructor(definitions: Iterable<EventDefinition>) {
    for (const d of definitions) {
      if (this.byType.has(d.type)) throw new Error(`event type ${d.type} defined twice`);
      this.byType.set(d.type, d);
    }
  }

  get types(): string[] {
    return [...this.byType.keys()];
  }

  definition(type: string): EventDefinition {
    const d = this.byType.get(type);
    if (!d) throw new UnknownEventTypeError(type);
    return d;
  }

  /** Validates data about to be written; returns the parsed data and the version to store. */
  prepare(type: string, data: unknown): { data: unknown; schema: number } {
    const d = this.definition(type);
    const parsed = d.schema.safeParse(data);
    if (!parsed.success) throw new InvalidEventError(type, parsed.error.issues);
    return { data: parsed.data, schema: d.version };
  }

  /** Brings stored data of any older version up to the current one. */
  upcast(type: string, schema: number, data: unknown): unknown {
    const d = this.definition(type);
    if (schema > d.version) throw new NewerSchemaError(type, schema, d.version);
    let current = data;
    for (let v = schema; v < d.version; v++) current = d.upcasters[v]!(current);
    return current;
  }
}
