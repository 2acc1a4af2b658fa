# Refinery heuristic worker: runs user-written Python labeling functions.
# Standard library only. Protocol on the original stdin/stdout: 4-byte big-endian length + UTF-8 JSON.
# argv: <address-space limit in bytes, 0 = none>
# Isolation is process-level (see docs/sandbox.md): resource limits, scrubbed env, temp cwd,
# optionally no network namespace. It is not a security boundary against hostile code.
import json
import os
import re
import resource
import signal
import sys
import traceback

FILENAME = '<heuristic>'
TIMER = signal.ITIMER_PROF  # CPU time of this process


class _Deadline(BaseException):
    """Raised by SIGPROF when a batch exceeds its CPU-time budget (not an Exception: `except Exception` won't catch it)."""


def _on_alarm(signum, frame):
    raise _Deadline()


def _describe(v):
    try:
        r = repr(v)
    except BaseException:
        r = '?'
    if len(r) > 80:
        r = r[:77] + '...'
    return type(v).__name__ + ' ' + r


def _user_location(tb):
    line = col = None
    for fs in traceback.extract_tb(tb):
        if fs.filename == FILENAME:
            line = fs.lineno
            c = getattr(fs, 'colno', None)
            col = c + 1 if c is not None else None
    return line, col


def _error(kind, message, index=None, line=None, column=None):
    e = {'kind': kind, 'message': message}
    if index is not None:
        e['index'] = index
    if line is not None:
        e['line'] = line
    if column is not None:
        e['column'] = column
    return {'error': e}


def _exc_error(e, index=None):
    line, col = _user_location(e.__traceback__)
    msg = type(e).__name__ + ': ' + str(e)
    if isinstance(e, RecursionError):
        msg += ' (infinite recursion?)'
    return _error('runtime', msg, index, line, col)


class _Lookup:
    def __init__(self, specs):
        self.terms = {}
        self.regex = {}
        for name, spec in specs.items():
            terms = tuple(spec['terms'])
            self.terms[name] = terms
            uniq = sorted({t for t in terms if t}, key=len, reverse=True)
            body = '(?:' + '|'.join(re.escape(t) for t in uniq) + ')' if uniq else '(?!)'
            if spec.get('wholeWord', True):
                body = r'(?<!\w)' + body + r'(?!\w)'
            flags = re.IGNORECASE if spec.get('caseInsensitive', True) else 0
            self.regex[name] = re.compile(body, flags)
        self.names = ', '.join(json.dumps(n) for n in specs) or '(none)'

    def _missing(self, name):
        return KeyError('unknown lookup list %s; available: %s' % (json.dumps(str(name)), self.names))

    def lookup(self, name):
        """The terms of a lookup list (a tuple)."""
        try:
            return self.terms[name]
        except (KeyError, TypeError):
            raise self._missing(name) from None

    def in_lookup(self, name, text):
        """True if any term of the list occurs in text (case / whole-word options as configured)."""
        try:
            rx = self.regex[name]
        except (KeyError, TypeError):
            raise self._missing(name) from None
        return isinstance(text, str) and rx.search(text) is not None


class Ctx:
    __slots__ = ('_r', '_lk')

    def __init__(self, r, lk):
        self._r = r
        self._lk = lk

    @property
    def record_id(self):
        return self._r.get('id')

    def tokens(self, attr):
        t = self._r.get('tokens') or {}
        return t.get(attr) or []

    def lookup(self, name):
        return self._lk.lookup(name)

    def in_lookup(self, name, text):
        return self._lk.in_lookup(name, text)


class Heuristic:
    __slots__ = ('fn', 'kind', 'lk', 'with_ctx', 'target')


def _utf16_spans(spans, text):
    """Python offsets count code points; the platform counts UTF-16 code units (like JavaScript).
    Converts character spans when the text has characters outside the BMP."""
    if not spans or not isinstance(text, str) or text.isascii():
        return spans
    if len(text.encode('utf-16-le')) == 2 * len(text):
        return spans
    n = len(text)
    for k, s in enumerate(spans):
        if s[3]:
            continue
        a, b = s[1], s[2]
        if not (0 <= a < b <= n):
            return {'invalid': 'span #%d (%s) %d..%d is out of range (need 0 <= start < end <= %d, the length of the text)' % (k, json.dumps(s[0]), a, b, n)}
        s[1] = len(text[:a].encode('utf-16-le')) // 2
        s[2] = s[1] + len(text[a:b].encode('utf-16-le')) // 2
    return spans


def _norm(v, kind):
    if v is None:
        return None
    if kind == 'classification':
        if isinstance(v, str):
            return str(v)
        if hasattr(v, 'close') and type(v).__name__ == 'coroutine':
            v.close()
            return {'invalid': 'lf must be synchronous; it returned a coroutine (async def is not supported)'}
        return {'invalid': 'a classification function must return a label name (str) or None; got ' + _describe(v)}
    if isinstance(v, (str, bytes, dict)) or not hasattr(v, '__iter__'):
        if type(v).__name__ == 'coroutine':
            v.close()
        return {'invalid': 'an extraction function must return or yield spans {"label", "start", "end"} or {"label", "token_start", "token_end"}; got ' + _describe(v)}
    out = []
    for k, s in enumerate(v):
        if not isinstance(s, dict):
            return {'invalid': 'span #%d is not a dict: %s' % (k, _describe(s))}
        label = s.get('label')
        if not isinstance(label, str):
            return {'invalid': 'span #%d has no str "label": %s' % (k, _describe(s))}
        if 'start' in s or 'end' in s:
            a, b, tok = s.get('start'), s.get('end'), 0
        else:
            a = s.get('token_start', s.get('tokenStart'))
            b = s.get('token_end', s.get('tokenEnd'))
            tok = 1
            if a is None and b is None:
                return {'invalid': 'span #%d needs start/end (characters) or token_start/token_end (tokens): %s' % (k, _describe(s))}
        if type(a) is not int or type(b) is not int:
            return {'invalid': 'span #%d offsets must be int: %s' % (k, _describe(s))}
        out.append([str(label), a, b, tok])
    return out


HEURISTICS = {}


def op_load(msg):
    hid = msg['id']
    try:
        code = compile(msg['code'], FILENAME, 'exec')
    except SyntaxError as e:
        return _error('syntax', '%s: %s' % (type(e).__name__, e.msg), None, e.lineno, e.offset)
    except (ValueError, MemoryError) as e:
        return _error('syntax', '%s: %s' % (type(e).__name__, e))
    lk = _Lookup(msg.get('lookups') or {})
    g = {'__name__': 'heuristic', '__builtins__': __builtins__, 'lookup': lk.lookup, 'in_lookup': lk.in_lookup}
    signal.setitimer(TIMER, max(msg.get('setupMs', 1000), 1) / 1000.0)
    try:
        exec(code, g)
        signal.setitimer(TIMER, 0)
    except _Deadline:
        return _error('timeout', 'time limit exceeded while running the top level of the code')
    except MemoryError:
        signal.setitimer(TIMER, 0)
        return _error('memory', 'MemoryError while running the top level of the code')
    except BaseException as e:
        signal.setitimer(TIMER, 0)
        return _exc_error(e)
    fn = g.get('lf')
    if not callable(fn):
        return _error('syntax', 'the code must define a function named lf, e.g. `def lf(record): ...`')
    h = Heuristic()
    h.fn = fn
    h.kind = msg['kind']
    h.target = msg.get('targetAttribute')
    h.lk = lk
    co = getattr(fn, '__code__', None)
    h.with_ctx = co is not None and (co.co_argcount >= 2 or bool(co.co_flags & 0x04))
    HEURISTICS[hid] = h
    return {'ok': True}


def _set_cpu_budget(seconds):
    ru = resource.getrusage(resource.RUSAGE_SELF)
    used = ru.ru_utime + ru.ru_stime
    soft = int(used + seconds) + 2
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        if hard != resource.RLIM_INFINITY and soft > hard:
            soft = hard
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
    except (ValueError, OSError):
        pass


def _call(h, r):
    v = h.fn(r['attributes'], Ctx(r, h.lk)) if h.with_ctx else h.fn(r['attributes'])
    if v is not None and type(v) is not str or h.kind != 'classification':
        v = _norm(v, h.kind)
    return v


def _exceeds_alone(h, r, limit):
    """Re-runs one record with a CPU-time limit; True if it exceeds it. Other exceptions propagate."""
    signal.setitimer(TIMER, limit)
    try:
        _call(h, r)
    except _Deadline:
        return True
    finally:
        signal.setitimer(TIMER, 0)
    return False


def _identify_slow(h, recs, k, limit, ms):
    """The batch budget ran out while record k was running: find a record that exceeds the limit alone."""
    order = [k] + [i for i in range(len(recs)) if i != k]
    for i in order:
        try:
            if _exceeds_alone(h, recs[i], limit):
                return _error('timeout', 'exceeded the time limit of %g ms per record (execution was stopped)' % ms, i)
        except MemoryError:
            return _error('memory', 'MemoryError: exceeded the worker memory limit', i)
        except BaseException as e:
            return _exc_error(e, i)
    return _error('timeout', 'a batch of %d records exceeded its time budget of %g ms per record, but no record exceeded %g ms when re-run alone' % (len(recs), ms, ms))


def _run(h, recs, ms):
    """Runs lf over recs with the batch's CPU-time budget: (votes, None) or (None, error)."""
    n = len(recs)
    limit = ms / 1000.0
    _set_cpu_budget(2 * n * limit + 1)
    out = [None] * n
    fn, kind, lk, with_ctx = h.fn, h.kind, h.lk, h.with_ctx
    setitimer = signal.setitimer
    i = -1
    # Budget for the whole batch in CPU time (ITIMER_PROF: user + system), so preemption by other
    # processes on a busy machine does not count against the user's function.
    setitimer(TIMER, n * limit)
    try:
        if kind == 'classification' and not with_ctx:
            for i in range(n):
                v = fn(recs[i]['attributes'])
                if v is not None and type(v) is not str:
                    v = _norm(v, kind)
                out[i] = v
        else:
            target = h.target
            for i in range(n):
                r = recs[i]
                v = fn(r['attributes'], Ctx(r, lk)) if with_ctx else fn(r['attributes'])
                v = _norm(v, kind)
                if type(v) is list and v:
                    v = _utf16_spans(v, r['attributes'].get(target))
                out[i] = v
        setitimer(TIMER, 0)
    except _Deadline:
        return None, _identify_slow(h, recs, max(i, 0), limit, ms)
    except MemoryError:
        setitimer(TIMER, 0)
        return None, _error('memory', 'MemoryError: exceeded the worker memory limit', i)
    except BaseException as e:
        setitimer(TIMER, 0)
        return None, _exc_error(e, i)
    return out, None


def op_run(msg):
    h = HEURISTICS.get(msg['id'])
    if h is None:
        return {'error': {'kind': 'runtime', 'message': 'heuristic not loaded in this worker'}, 'notLoaded': True}
    out, err = _run(h, msg['records'], msg['perRecordMs'])
    return err if err is not None else {'votes': out}


def op_run_lines(msg):
    """Records as lines of '"<id>",{attributes}' after the header line; answers the votes that are not abstentions."""
    h = HEURISTICS.get(msg['id'])
    if h is None:
        return {'error': {'kind': 'runtime', 'message': 'heuristic not loaded in this worker'}, 'notLoaded': True}
    flat = json.loads(b'[' + msg['lines'].replace(b'\n', b',') + b']')
    recs = [{'id': flat[k], 'attributes': flat[k + 1]} for k in range(0, len(flat), 2)]
    out, err = _run(h, recs, msg['perRecordMs'])
    if err is not None:
        return err
    ids = []
    votes = []
    for k in range(len(out)):
        v = out[k]
        if v is not None:
            ids.append(recs[k]['id'])
            votes.append(v)
    return {'ids': ids, 'votes': votes}


def op_ping(msg):
    return {'ok': True}


OPS = {'load': op_load, 'run': op_run, 'run_lines': op_run_lines, 'ping': op_ping}


def main():
    mem = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    proto_in = os.fdopen(os.dup(0), 'rb')
    proto_out = os.fdopen(os.dup(1), 'wb')
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # user print() goes to stderr, never into the protocol stream
    sys.stdin = open(os.devnull)
    sys.stdout = sys.stderr
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    try:
        resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 20, 16 << 20))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    except (ValueError, OSError):
        pass
    if mem > 0:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    signal.signal(signal.SIGPROF, _on_alarm)
    while True:
        hdr = proto_in.read(4)
        if len(hdr) < 4:
            return
        size = int.from_bytes(hdr, 'big')
        data = proto_in.read(size)
        try:
            # a JSON header; for run_lines the record lines follow after the first line break
            nl = data.find(b'\n')
            if nl < 0:
                msg = json.loads(data)
            else:
                msg = json.loads(data[:nl])
                msg['lines'] = data[nl + 1:]
            for hid in msg.get('unload') or ():
                HEURISTICS.pop(hid, None)
            res = OPS[msg['op']](msg)
        except MemoryError:
            res = _error('memory', 'MemoryError: exceeded the worker memory limit')
        except _Deadline:
            res = _error('timeout', 'time limit exceeded')
        payload = json.dumps(res).encode('ascii')
        proto_out.write(len(payload).to_bytes(4, 'big') + payload)
        proto_out.flush()


main()
