/**
 * Code that runs inside the isolate before the user's code (file name `sandbox-harness.js`).
 * Its completion value is the API object the host keeps References to; nothing is left on the
 * global object. Errors in the user's code are located by the first `heuristic.js:line:col`
 * frame of the stack.
 */
export const USER_FILENAME = 'heuristic.js';
export const HARNESS_FILENAME = 'sandbox-harness.js';

export const HARNESS_SOURCE = String.raw`(function () {
  'use strict';
  const parse = JSON.parse, stringify = JSON.stringify, isArray = Array.isArray;
  const freeze = Object.freeze, defineProperty = Object.defineProperty, iter = Symbol.iterator, Str = String, Re = RegExp;
  const LOC = /heuristic\.js:(\d+):(\d+)/;
  const NL = /\n/g, replace = Function.prototype.call.bind(String.prototype.replace), push = Function.prototype.call.bind(Array.prototype.push);
  let fn;
  let kind = 'classification';
  // Shared with the host (a SharedArrayBuffer, see js-runner.ts): [0] batches with a sequence
  // number up to this are abandoned, [1] the sequence number of the running batch, [2] the index
  // of the record being run. The host reads [1..2] without calling in (the isolate may be stuck).
  let ctl = new Int32Array(3);
  const load = Atomics.load;
  let cur = null;
  const lookups = new Map();
  let lookupNames = '';

  function getLookup(name) {
    const l = lookups.get(name);
    if (!l) throw new Error('unknown lookup list ' + stringify(Str(name)) + '; available: ' + (lookupNames || '(none)'));
    return l;
  }
  const ctx = freeze({
    get recordId() { return cur ? cur.id : undefined; },
    tokens(attr) {
      const t = cur && cur.tokens ? cur.tokens[attr] : undefined;
      return t || [];
    },
    lookup(name) { return getLookup(name).terms; },
    inLookup(name, text) {
      const l = getLookup(name);
      return typeof text === 'string' && l.re.test(text);
    },
  });

  function describe(v) {
    const t = v === null ? 'null' : isArray(v) ? 'array' : typeof v;
    let s;
    try { s = stringify(v); } catch (e) { s = undefined; }
    return typeof s === 'string' && s.length <= 80 ? t + ' ' + s : t;
  }
  function isThenable(v) {
    return v !== null && typeof v === 'object' && typeof v.then === 'function';
  }
  function norm(v) {
    if (v === undefined || v === null) return null;
    if (isThenable(v)) return { invalid: 'lf must be synchronous; it returned a Promise (async functions and await are not supported)' };
    if (kind === 'classification') {
      if (typeof v === 'string') return v;
      return { invalid: 'a classification function must return a label name (string) or nothing; got ' + describe(v) };
    }
    if (typeof v !== 'object' || typeof v[iter] !== 'function') {
      return { invalid: 'an extraction function must return or yield spans {label, start, end} or {label, tokenStart, tokenEnd}; got ' + describe(v) };
    }
    const out = [];
    let k = 0;
    for (const s of v) {
      if (s === null || typeof s !== 'object') return { invalid: 'span #' + k + ' is not an object: ' + describe(s) };
      const label = s.label;
      if (typeof label !== 'string') return { invalid: 'span #' + k + ' has no string "label": ' + describe(s) };
      if (s.start !== undefined || s.end !== undefined) {
        if (typeof s.start !== 'number' || typeof s.end !== 'number') return { invalid: 'span #' + k + ' needs numeric start and end: ' + describe(s) };
        out.push([label, s.start, s.end, 0]);
      } else if (s.tokenStart !== undefined || s.tokenEnd !== undefined) {
        if (typeof s.tokenStart !== 'number' || typeof s.tokenEnd !== 'number') return { invalid: 'span #' + k + ' needs numeric tokenStart and tokenEnd: ' + describe(s) };
        out.push([label, s.tokenStart, s.tokenEnd, 1]);
      } else {
        return { invalid: 'span #' + k + ' needs start/end (characters) or tokenStart/tokenEnd (tokens): ' + describe(s) };
      }
      k++;
    }
    return out;
  }
  function errorInfo(e, i) {
    let message, stack;
    try {
      if (e instanceof Error) {
        message = Str(e.name) + ': ' + Str(e.message);
        stack = e.stack;
      } else {
        message = 'uncaught exception: ' + describe(e);
      }
    } catch (x) {
      message = 'uncaught exception (not printable)';
    }
    const info = { kind: 'runtime', message: message, index: i };
    const m = typeof stack === 'string' ? LOC.exec(stack) : null;
    if (m) { info.line = +m[1]; info.column = +m[2]; }
    if (e instanceof RangeError && /call stack/.test(message)) info.message += ' (infinite recursion?)';
    return info;
  }

  return {
    setup(k, lookupJson, control) {
      kind = k;
      if (control) ctl = new Int32Array(control);
      const ls = parse(lookupJson);
      const names = [];
      for (const name of Object.keys(ls)) {
        const l = ls[name];
        lookups.set(name, { terms: freeze(l.terms.slice()), re: new Re(l.source, l.flags) });
        names.push(stringify(name));
      }
      lookupNames = names.join(', ');
    },
    bind(f) { fn = f; },
    // RecordLines (types.ts): "<id>",{attributes} per line; only the votes that are not abstentions go back
    runLines(text, seq) {
      if (seq !== 0 && seq <= load(ctl, 0)) return '{"skipped":1}';
      ctl[1] = seq;
      ctl[2] = -1;
      const flat = parse('[' + replace(text, NL, ',') + ']');
      const n = flat.length >> 1;
      const ids = [], votes = [];
      for (let i = 0; i < n; i++) {
        ctl[2] = i;
        if (seq !== 0 && (i & 63) === 0 && seq <= load(ctl, 0)) return '{"skipped":1}';
        const id = flat[2 * i], attributes = flat[2 * i + 1];
        cur = { id: id, attributes: attributes, tokens: undefined };
        let v;
        try {
          v = norm(fn(attributes, ctx));
        } catch (e) {
          cur = null;
          return stringify({ error: errorInfo(e, i) });
        }
        if (v !== null) {
          push(ids, id);
          push(votes, v);
        }
      }
      ctl[2] = -1;
      cur = null;
      return stringify({ ids: ids, votes: votes });
    },
    run(meta, text, seq) {
      // seq 0: a probe of the host that is never abandoned
      if (seq !== 0 && seq <= load(ctl, 0)) return '{"skipped":1}';
      ctl[1] = seq;
      ctl[2] = -1;
      // See js-transport.ts: string attributes arrive concatenated in \`text\`.
      const m = parse(meta);
      const keys = m.k, rows = m.r;
      const n = rows.length;
      const recs = new Array(n);
      let pos = 0;
      for (let i = 0; i < n; i++) {
        const row = rows[i];
        const attributes = {};
        const pairs = row[1], other = row[2];
        let oi = 0;
        for (let j = 0; j < pairs.length; j += 2) {
          const len = pairs[j + 1];
          let v;
          if (len < 0) {
            v = other[oi++];
          } else {
            v = text.slice(pos, pos + len);
            pos += len;
          }
          const k = keys[pairs[j]];
          if (k === '__proto__') defineProperty(attributes, k, { value: v, enumerable: true, writable: true, configurable: true });
          else attributes[k] = v;
        }
        recs[i] = { id: row[0], attributes: attributes, tokens: row[3] === 0 ? undefined : row[3] };
      }
      const out = new Array(n);
      for (let i = 0; i < n; i++) {
        ctl[2] = i;
        if (seq !== 0 && (i & 63) === 0 && seq <= load(ctl, 0)) return '{"skipped":1}';
        const r = recs[i];
        cur = r;
        try {
          out[i] = norm(fn(r.attributes, ctx));
        } catch (e) {
          cur = null;
          return stringify({ error: errorInfo(e, i) });
        }
      }
      ctl[2] = -1;
      cur = null;
      return stringify({ votes: out });
    },
  };
})()`;
