import type { AttributeType, AttributeValue } from './types.ts';

export const CATEGORY_MAX_DISTINCT = 50;
export const CATEGORY_MAX_LENGTH = 64;
/** From this many non-null values on, a category also needs distinct <= nonNull / 2. */
export const CATEGORY_RATIO_MIN_VALUES = 20;

export const KIND_BOOLEAN = 1;
export const KIND_INTEGER = 2;
export const KIND_FLOAT = 4;
export const KIND_STRING = 8;

const INTEGER_RE = /^[-+]?\d+$/;
const FLOAT_RE = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/** A scalar as it appears in a file: CSV cells are strings, JSON values keep their type. */
export type RawScalar = string | number | boolean;

/** Classifies a (non-empty) CSV cell or JSON string by what it looks like. */
export function classifyString(s: string): number {
  const c = s.charCodeAt(0);
  // digits, '+', '-', '.'
  if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) {
    if (INTEGER_RE.test(s)) return Number.isSafeInteger(Number(s)) ? KIND_INTEGER : KIND_STRING;
    if (FLOAT_RE.test(s)) return Number.isFinite(Number(s)) ? KIND_FLOAT : KIND_STRING;
    return KIND_STRING;
  }
  if (s.length === 4 || s.length === 5) {
    const lower = s.toLowerCase();
    if (lower === 'true' || lower === 'false') return KIND_BOOLEAN;
  }
  return KIND_STRING;
}

/** Per-column statistics gathered in pass 1. Distinct-value tracking is bounded. */
export class ColumnStats {
  nonNull = 0;
  kinds = 0;
  distinct: Set<string> | null = new Set();
  tooLongForCategory = false;

  constructor(readonly name: string) {}

  /** A CSV cell (non-empty). */
  addCsv(s: string): void {
    this.nonNull++;
    this.kinds |= classifyString(s);
    this.trackString(s);
  }

  /** A JSON scalar (not null). */
  addJson(v: RawScalar): void {
    this.nonNull++;
    if (typeof v === 'string') {
      this.kinds |= KIND_STRING;
      this.trackString(v);
    } else if (typeof v === 'number') {
      this.kinds |= Number.isSafeInteger(v) ? KIND_INTEGER : KIND_FLOAT;
    } else {
      this.kinds |= KIND_BOOLEAN;
    }
  }

  private trackString(s: string): void {
    if (s.length > CATEGORY_MAX_LENGTH) this.tooLongForCategory = true;
    const distinct = this.distinct;
    if (distinct !== null && !distinct.has(s)) {
      if (distinct.size > CATEGORY_MAX_DISTINCT) this.distinct = null;
      else distinct.add(s);
    }
  }

  private stringType(): AttributeType {
    const distinct = this.distinct;
    if (distinct === null || distinct.size > CATEGORY_MAX_DISTINCT || this.tooLongForCategory) return 'text';
    if (this.nonNull >= CATEGORY_RATIO_MIN_VALUES && distinct.size > this.nonNull / 2) return 'text';
    return 'category';
  }

  inferredType(fromCsv: boolean): AttributeType {
    const k = this.kinds;
    if (k === 0) return 'text';
    if (k === KIND_BOOLEAN) return 'boolean';
    if (k === KIND_INTEGER) return 'integer';
    if ((k & ~(KIND_INTEGER | KIND_FLOAT)) === 0) return 'float';
    if (fromCsv) return this.stringType(); // every CSV value is a string
    if (k === KIND_STRING) return this.stringType();
    return 'text'; // JSON: mixed kinds (e.g. numbers and strings) are stringified
  }
}

/** Whether a raw value can be stored as `type` without losing its meaning. */
export function convertsTo(v: RawScalar, type: AttributeType): boolean {
  switch (type) {
    case 'text':
    case 'category':
      return true;
    case 'integer':
      if (typeof v === 'number') return Number.isSafeInteger(v);
      return typeof v === 'string' && classifyString(v) === KIND_INTEGER;
    case 'float':
      if (typeof v === 'number') return Number.isFinite(v);
      if (typeof v !== 'string') return false;
      {
        const kind = classifyString(v);
        return kind === KIND_INTEGER || kind === KIND_FLOAT;
      }
    case 'boolean':
      return typeof v === 'boolean' || (typeof v === 'string' && classifyString(v) === KIND_BOOLEAN);
  }
}

/**
 * Converts a raw value to `type`. Callers must have checked `convertsTo` (pass 1 does);
 * returns undefined when the value does not convert.
 */
export function convertValue(v: RawScalar, type: AttributeType): AttributeValue | undefined {
  switch (type) {
    case 'text':
    case 'category':
      return typeof v === 'string' ? v : String(v);
    case 'integer':
    case 'float':
      if (typeof v === 'number') return type === 'integer' && !Number.isSafeInteger(v) ? undefined : v;
      if (typeof v === 'string' && convertsTo(v, type)) return Number(v);
      return undefined;
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string' && classifyString(v) === KIND_BOOLEAN) return v.toLowerCase() === 'true';
      return undefined;
  }
}
