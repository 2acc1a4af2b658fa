"use strict";
var __spreadArray = (this && this.__spreadArray) || function (to, from, pack) {
    if (pack || arguments.length === 2) for (var i = 0, l = from.length, ar; i < l; i++) {
        if (ar || !(i in from)) {
            if (!ar) ar = Array.prototype.slice.call(from, 0, i);
            ar[i] = from[i];
        }
    }
    return to.concat(ar || Array.prototype.slice.call(from));
};
Object.defineProperty(exports, "__esModule", { value: true });
exports.loadDataset = loadDataset;
var node_fs_1 = require("node:fs");
var node_path_1 = require("node:path");
var weak_supervision_1 = require("@refinery/weak-supervision");
var SPLITS = ['train', 'valid', 'test'];
function readJson(path) {
    return JSON.parse((0, node_fs_1.readFileSync)(path, 'utf8'));
}
/** Rows of a `{split}.json` object keyed by row index, in numeric key order. */
function rowsInOrder(obj) {
    return Object.keys(obj)
        .sort(function (a, b) { return Number(a) - Number(b); })
        .map(function (k) { return obj[k]; });
}
/** Detect the format by the files present: meta.json → CHMM sequence format, else WRENCH classification. */
function loadDataset(dir) {
    var name = (0, node_path_1.basename)(dir.replace(/\/+$/, ''));
    if ((0, node_fs_1.existsSync)((0, node_path_1.join)(dir, 'meta.json')))
        return loadSequence(dir, name);
    if (SPLITS.some(function (s) { return (0, node_fs_1.existsSync)((0, node_path_1.join)(dir, "".concat(s, ".json"))); }))
        return loadClassification(dir, name);
    throw new Error("".concat(dir, ": no meta.json and no {train,valid,test}.json \u2014 unknown format"));
}
function loadClassification(dir, name) {
    var splits = {};
    var maxLabel = -1;
    for (var _i = 0, SPLITS_1 = SPLITS; _i < SPLITS_1.length; _i++) {
        var s = SPLITS_1[_i];
        var p = (0, node_path_1.join)(dir, "".concat(s, ".json"));
        if (!(0, node_fs_1.existsSync)(p))
            continue;
        var rows = rowsInOrder(readJson(p));
        var matrix = (0, weak_supervision_1.labelMatrixFromDense)(rows.map(function (r) { return r.weak_labels; }));
        var gold = Int32Array.from(rows.map(function (r) { return r.label; }));
        for (var _a = 0, rows_1 = rows; _a < rows_1.length; _a++) {
            var r = rows_1[_a];
            maxLabel = Math.max.apply(Math, __spreadArray([maxLabel, r.label], r.weak_labels, false));
        }
        splits[s] = { matrix: matrix, gold: gold };
    }
    var classNames = [];
    var lp = (0, node_path_1.join)(dir, 'label.json');
    if ((0, node_fs_1.existsSync)(lp)) {
        var lj = readJson(lp);
        classNames = rowsInOrder(lj);
    }
    var numClasses = Math.max(classNames.length, maxLabel + 1);
    return { kind: 'classification', name: name, numClasses: numClasses, classNames: classNames, splits: splits };
}
/** Sequence data restricted to WRENCH's LF subset `meta.lf_rec` (all LFs when absent). */
function loadSequence(dir, name) {
    var _a;
    var meta = readJson((0, node_path_1.join)(dir, 'meta.json'));
    var use = ((_a = meta.lf_rec) !== null && _a !== void 0 ? _a : meta.lf).map(function (n) {
        var j = meta.lf.indexOf(n);
        if (j < 0)
            throw new Error("".concat(dir, ": lf_rec name ").concat(n, " not in lf"));
        return j;
    });
    var toSpan = function (_a) {
        var start = _a[0], end = _a[1], type = _a[2];
        return ({ start: start, end: end, type: type });
    };
    var splits = {};
    for (var _i = 0, SPLITS_2 = SPLITS; _i < SPLITS_2.length; _i++) {
        var s = SPLITS_2[_i];
        var p = (0, node_path_1.join)(dir, "".concat(s, ".json"));
        if (!(0, node_fs_1.existsSync)(p))
            continue;
        var rows = rowsInOrder(readJson(p));
        splits[s] = {
            docs: rows.map(function (r) { return ({ length: r.data.text.length, lfSpans: use.map(function (j) { var _a; return ((_a = r.weak_labels[j]) !== null && _a !== void 0 ? _a : []).map(toSpan); }) }); }),
            gold: rows.map(function (r) { return r.label.map(toSpan); }),
        };
    }
    return { kind: 'sequence', name: name, entityTypes: meta.entity_types, lfNames: use.map(function (j) { return meta.lf[j]; }), splits: splits };
}
