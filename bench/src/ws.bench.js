"use strict";
var __assign = (this && this.__assign) || function () {
    __assign = Object.assign || function(t) {
        for (var s, i = 1, n = arguments.length; i < n; i++) {
            s = arguments[i];
            for (var p in s) if (Object.prototype.hasOwnProperty.call(s, p))
                t[p] = s[p];
        }
        return t;
    };
    return __assign.apply(this, arguments);
};
Object.defineProperty(exports, "__esModule", { value: true });
/**
 * Weak-supervision label-model benchmark.
 *
 *   npm run bench:ws -- --data /work/shared/ws-data/youtube /work/shared/ws-data/sms ...
 *   npm run bench:ws -- --speed [--records 1000000 --lfs 50 --classes 5 --coverage 0.1]
 *   options: --models ours,mv,refinery,ds   --modes unsupervised,semi
 *
 * Prints one JSON line per dataset × model × mode (see docs/weak-supervision.md).
 */
var weak_supervision_1 = require("@refinery/weak-supervision");
var ws_data_ts_1 = require("./ws-data.ts");
function parseArgs(argv) {
    var out = new Map();
    var key = '';
    for (var _i = 0, argv_1 = argv; _i < argv_1.length; _i++) {
        var a = argv_1[_i];
        if (a.startsWith('--')) {
            key = a.slice(2);
            if (!out.has(key))
                out.set(key, []);
        }
        else if (key)
            out.get(key).push(a);
    }
    return out;
}
var round = function (x, d) {
    if (d === void 0) { d = 4; }
    return Math.round(x * Math.pow(10, d)) / Math.pow(10, d);
};
function emit(line) {
    process.stdout.write(JSON.stringify(line) + '\n');
}
function runClassification(ds, models, modes) {
    var _a = ds.splits, train = _a.train, valid = _a.valid, test = _a.test;
    if (!test)
        throw new Error("".concat(ds.name, ": no test split"));
    // unsupervised fit set: every split's weak labels (train + valid + test; SMS: valid + test), no gold
    var parts = [train, valid, test].filter(function (s) { return s !== undefined; });
    var all = (0, weak_supervision_1.concatRows)(parts.map(function (s) { return s.matrix; }));
    var testOffset = all.numRecords - test.matrix.numRecords;
    var validOffset = valid ? (train ? train.matrix.numRecords : 0) : -1;
    var K = ds.numClasses;
    for (var _i = 0, modes_1 = modes; _i < modes_1.length; _i++) {
        var mode = modes_1[_i];
        var manual = void 0;
        if (mode === 'semi') {
            if (!valid)
                continue;
            manual = new Int32Array(all.numRecords).fill(-1);
            manual.set(valid.gold, validOffset);
        }
        for (var _b = 0, models_1 = models; _b < models_1.length; _b++) {
            var kind = models_1[_b];
            var t0 = performance.now();
            var model = (0, weak_supervision_1.fitLabelModel)(kind, all, __assign({ numClasses: K }, (manual ? { manualLabels: manual } : {})));
            var pred = model.predict(test.matrix);
            var fitMs = performance.now() - t0;
            void testOffset;
            // coverage: share of test records that get a label from LF evidence
            var covered = 0;
            for (var i = 0; i < test.matrix.numRecords; i++) {
                if (kind === 'refinery')
                    covered += pred.labels[i] >= 0 ? 1 : 0;
                else
                    covered += test.matrix.indptr[i + 1] > test.matrix.indptr[i] ? 1 : 0;
            }
            var base = {
                dataset: ds.name,
                task: K === 2 ? 'binary' : 'multiclass',
                model: kind,
                mode: mode,
                coverage: round(covered / test.matrix.numRecords),
                ece: round((0, weak_supervision_1.expectedCalibrationError)(test.gold, pred.labels, pred.confidence)),
                fit_ms: round(fitMs, 1),
            };
            var acc = (0, weak_supervision_1.accuracy)(test.gold, pred.labels);
            emit({ dataset: base.dataset, task: base.task, metric: 'accuracy', model: kind, mode: mode, value: round(100 * acc, 2), coverage: base.coverage, ece: base.ece, fit_ms: base.fit_ms });
            if (K === 2) {
                var f = (0, weak_supervision_1.binaryF1)(test.gold, pred.labels, 1);
                emit({ dataset: base.dataset, task: base.task, metric: 'f1', model: kind, mode: mode, value: round(100 * f.f1, 2), coverage: base.coverage, ece: base.ece, fit_ms: base.fit_ms });
            }
        }
    }
}
function runSequence(ds, models, modes) {
    var _a = ds.splits, train = _a.train, valid = _a.valid, test = _a.test;
    if (!test)
        throw new Error("".concat(ds.name, ": no test split"));
    var parts = [train, valid, test].filter(function (s) { return s !== undefined; });
    var docs = parts.flatMap(function (s) { return s.docs; });
    var validOffset = train ? train.docs.length : 0;
    // token-level coverage of the test split: tokens where some LF tags an entity
    var tokens = 0;
    var coveredTokens = 0;
    for (var _i = 0, _b = test.docs; _i < _b.length; _i++) {
        var d = _b[_i];
        var cov = new Uint8Array(d.length);
        for (var _c = 0, _d = d.lfSpans; _c < _d.length; _c++) {
            var spans = _d[_c];
            for (var _e = 0, spans_1 = spans; _e < spans_1.length; _e++) {
                var s = spans_1[_e];
                for (var t = Math.max(0, s.start); t < Math.min(d.length, s.end); t++)
                    cov[t] = 1;
            }
        }
        tokens += d.length;
        for (var t = 0; t < d.length; t++)
            coveredTokens += cov[t];
    }
    var goldTags = test.docs.map(function (d, i) { return (0, weak_supervision_1.spansToBio)(test.gold[i], d.length, ds.entityTypes, 'BIO'); });
    var _loop_1 = function (mode) {
        var manualSpans;
        if (mode === 'semi') {
            if (!valid)
                return "continue";
            manualSpans = docs.map(function () { return null; });
            valid.gold.forEach(function (g, i) { return (manualSpans[validOffset + i] = g); });
        }
        var _loop_2 = function (kind) {
            var t0 = performance.now();
            var model = (0, weak_supervision_1.fitSpanModel)(kind, docs, __assign({ entityTypes: ds.entityTypes, scheme: 'BIO' }, (manualSpans ? { manualSpans: manualSpans } : {})));
            var pred = model.predict(test.docs);
            var fitMs = performance.now() - t0;
            var f = (0, weak_supervision_1.entityF1)(test.gold, pred.spans);
            // token-level ECE of the predicted tag
            var g = [];
            var p = [];
            var c = [];
            pred.tags.forEach(function (tags, d) {
                for (var t = 0; t < tags.length; t++) {
                    g.push(goldTags[d][t]);
                    p.push(tags[t]);
                    c.push(pred.tokenConfidence[d][t]);
                }
            });
            emit({
                dataset: ds.name,
                task: 'sequence',
                metric: 'entity_f1',
                model: kind,
                mode: mode,
                value: round(100 * f.f1, 2),
                coverage: round(coveredTokens / Math.max(tokens, 1)),
                ece: round((0, weak_supervision_1.expectedCalibrationError)(g, p, c)),
                fit_ms: round(fitMs, 1),
            });
        };
        for (var _g = 0, models_2 = models; _g < models_2.length; _g++) {
            var kind = models_2[_g];
            _loop_2(kind);
        }
    };
    for (var _f = 0, modes_2 = modes; _f < modes_2.length; _f++) {
        var mode = modes_2[_f];
        _loop_1(mode);
    }
}
/** Deterministic xorshift32 PRNG. */
function rng(seed) {
    var x = seed >>> 0 || 1;
    return function () {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        return x / 4294967296;
    };
}
function runSpeed(n, M, K, cov, models) {
    // synthetic data: latent class uniform, each LF fires with probability `cov`, is right with prob 0.7
    var rand = rng(12345);
    var gold = new Int32Array(n);
    var indptr = new Int32Array(n + 1);
    var cap = Math.ceil(n * M * cov * 1.05) + 1024;
    var lfs = new Int32Array(cap);
    var labels = new Int32Array(cap);
    var k = 0;
    for (var i = 0; i < n; i++) {
        var y = Math.floor(rand() * K);
        gold[i] = y;
        for (var j = 0; j < M; j++) {
            if (rand() >= cov)
                continue;
            var acc = 0.55 + (0.4 * j) / M;
            var l = y;
            if (rand() >= acc)
                l = (y + 1 + Math.floor(rand() * (K - 1))) % K;
            if (k === lfs.length) {
                var nl = new Int32Array(lfs.length * 2);
                nl.set(lfs);
                lfs = nl;
                var nb = new Int32Array(labels.length * 2);
                nb.set(labels);
                labels = nb;
            }
            lfs[k] = j;
            labels[k] = l;
            k++;
        }
        indptr[i + 1] = k;
    }
    var matrix = (0, weak_supervision_1.labelMatrixFromCsr)(n, M, indptr, lfs.slice(0, k), labels.slice(0, k));
    lfs = new Int32Array(0);
    labels = new Int32Array(0);
    var bytes = (0, weak_supervision_1.matrixByteSize)(matrix);
    var gc = globalThis.gc;
    for (var _i = 0, models_3 = models; _i < models_3.length; _i++) {
        var kind = models_3[_i];
        gc === null || gc === void 0 ? void 0 : gc();
        var before = process.memoryUsage();
        var peakHeap = before.heapUsed;
        var peakAb = before.arrayBuffers;
        var t0 = performance.now();
        var model = (0, weak_supervision_1.fitLabelModel)(kind, matrix, { numClasses: K });
        var mid = process.memoryUsage();
        var pred = model.predict();
        var ms = performance.now() - t0;
        var after = process.memoryUsage();
        peakHeap = Math.max(peakHeap, mid.heapUsed, after.heapUsed);
        peakAb = Math.max(peakAb, mid.arrayBuffers, after.arrayBuffers);
        var delta = peakHeap - before.heapUsed + (peakAb - before.arrayBuffers);
        emit({
            dataset: "synthetic-".concat(n, "x").concat(M, "x").concat(K, "@").concat(cov),
            task: 'speed',
            metric: 'accuracy',
            model: kind,
            mode: 'unsupervised',
            value: round(100 * (0, weak_supervision_1.accuracy)(gold, pred.labels), 2),
            coverage: round(cov, 4),
            ece: round((0, weak_supervision_1.expectedCalibrationError)(gold, pred.labels, pred.confidence)),
            fit_ms: round(ms, 1),
            matrix_bytes: bytes,
            mem_delta_bytes: delta,
            mem_ratio: round(delta / bytes, 3),
            gc_exposed: gc !== undefined,
        });
    }
}
function main() {
    var _a, _b, _c, _d, _e, _f, _g;
    var args = parseArgs(process.argv.slice(2));
    var models = ((_c = (_b = (_a = args.get('models')) === null || _a === void 0 ? void 0 : _a[0]) === null || _b === void 0 ? void 0 : _b.split(',')) !== null && _c !== void 0 ? _c : ['ours', 'mv', 'refinery', 'ds']);
    var modes = ((_f = (_e = (_d = args.get('modes')) === null || _d === void 0 ? void 0 : _d[0]) === null || _e === void 0 ? void 0 : _e.split(',')) !== null && _f !== void 0 ? _f : ['unsupervised', 'semi']);
    if (args.has('speed')) {
        var num = function (k, d) { var _a, _b; return Number((_b = (_a = args.get(k)) === null || _a === void 0 ? void 0 : _a[0]) !== null && _b !== void 0 ? _b : d); };
        runSpeed(num('records', 1000000), num('lfs', 50), num('classes', 5), num('coverage', 0.1), args.get('models') ? models : ['ours']);
    }
    for (var _i = 0, _h = (_g = args.get('data')) !== null && _g !== void 0 ? _g : []; _i < _h.length; _i++) {
        var dir = _h[_i];
        var ds = (0, ws_data_ts_1.loadDataset)(dir);
        if (ds.kind === 'classification')
            runClassification(ds, models, modes);
        else
            runSequence(ds, models, modes);
    }
    if (!args.has('speed') && !args.has('data')) {
        process.stderr.write('usage: npm run bench:ws -- --data <folder>... | --speed\n');
        process.exitCode = 2;
    }
}
main();
