// Turns the constraint table (./constraints.js) and the workspace packages' tags into flat-config objects:
// one set of import restrictions per project folder (and per file group where a constraint has `exceptIn`).
//
// Each generated config object sets, for the files of one project:
//   @typescript-eslint/no-restricted-imports                    static imports / re-exports (`allowTypeImports` where
//                                                                only `import type` is permitted)
//   refinery/no-restricted-dynamic-imports           the same bans for import() / require()
//   refinery/no-relative-imports-across-projects     no `../../libs/x/src/...`
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import tseslint from 'typescript-eslint';
import { constraints as defaultConstraints } from './constraints.js';
import boundariesPlugin from './plugin.js';

export const SOURCE_EXTENSIONS = '{ts,mts,cts,tsx,js,mjs,cjs,jsx,vue}';

const toPosix = (p) => p.split(path.sep).join('/');
const escapeRegex = (s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Workspace projects from the root package.json "workspaces" (supports `dir` and `dir/*` entries).
 * @returns {{ name: string, root: string, tags: string[], deps: string[] }[]}
 */
export function readWorkspace(workspaceRoot) {
  const rootPkg = JSON.parse(readFileSync(path.join(workspaceRoot, 'package.json'), 'utf8'));
  const dirs = [];
  for (const entry of rootPkg.workspaces ?? []) {
    if (entry.endsWith('/*')) {
      const parent = entry.slice(0, -2);
      const abs = path.join(workspaceRoot, parent);
      if (!existsSync(abs)) continue;
      for (const d of readdirSync(abs, { withFileTypes: true })) if (d.isDirectory()) dirs.push(`${parent}/${d.name}`);
    } else {
      dirs.push(entry.replace(/\/$/, ''));
    }
  }
  const projects = [];
  for (const dir of dirs.sort()) {
    const pkgFile = path.join(workspaceRoot, dir, 'package.json');
    if (!existsSync(pkgFile)) continue;
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8'));
    if (!pkg.name) continue;
    projects.push({
      name: pkg.name,
      root: toPosix(dir),
      tags: pkg.nx?.tags ?? [],
      deps: Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies }),
    });
  }
  return projects;
}

/** A matcher for one `bannedPackages` spec: exact name (and its subpaths), prefix glob (`y-*`, `@scope/*`) or RegExp. */
function specToRegex(spec) {
  if (spec instanceof RegExp) return spec.source;
  if (spec.endsWith('*')) return `^${escapeRegex(spec.slice(0, -1))}`;
  return `^${escapeRegex(spec)}(/|$)`;
}

const hasAnyTag = (project, tags) => (tags ?? []).some((t) => project.tags.includes(t));
const appliesTo = (constraint, project) => constraint.source.length === 0 || hasAnyTag(project, constraint.source);

/** True when no package in `project`'s workspace dependency closure is banned by `constraint`. */
function isPure(project, constraint, byName, seen = new Set()) {
  if (seen.has(project.name)) return true;
  seen.add(project.name);
  const banned = (constraint.bannedPackages ?? []).map((s) => new RegExp(specToRegex(s), 'u'));
  for (const dep of project.deps) {
    const ws = byName.get(dep);
    if (ws) {
      if (!isPure(ws, constraint, byName, seen)) return false;
    } else if (banned.some((re) => re.test(dep))) {
      return false;
    }
  }
  return true;
}

const RANK = { allow: 0, typeOnly: 1, ban: 2 };

/** What `constraint` says about `source` importing workspace package `target`. */
function decide(constraint, target, byName) {
  if (constraint.denyProjects && hasAnyTag(target, constraint.denyProjects.anyTag)) return 'ban';
  if (constraint.onlyProjects) {
    const ok =
      hasAnyTag(target, constraint.onlyProjects.anyTag) &&
      (!constraint.onlyProjects.pure || isPure(target, constraint, byName));
    if (ok) return 'allow';
    if (constraint.typeOnlyProjects && hasAnyTag(target, constraint.typeOnlyProjects.anyTag)) return 'typeOnly';
    return 'ban';
  }
  return 'allow';
}

const describe = (p) => `${p.name} (${p.root}: ${p.tags.join(', ') || 'no tags'})`;

/** `@typescript-eslint/no-restricted-imports` options for `project` under the active constraints. */
export function restrictionsFor(project, active, projects) {
  const byName = new Map(projects.map((p) => [p.name, p]));
  const paths = [];
  const patterns = [];

  // Workspace packages: strictest decision across all active constraints.
  for (const target of projects) {
    if (target.name === project.name) continue;
    let verdict = 'allow';
    let reasons = [];
    for (const c of active) {
      const d = decide(c, target, byName);
      if (RANK[d] > RANK[verdict]) [verdict, reasons] = [d, [c]];
      else if (d !== 'allow' && d === verdict) reasons.push(c);
    }
    if (verdict === 'allow') continue;
    const message =
      (verdict === 'typeOnly'
        ? `${describe(project)} may use ${describe(target)} only through \`import type\`. `
        : `${describe(project)} may not depend on ${describe(target)}. `) +
      reasons.map((c) => `[${c.name}] ${c.why}`).join(' ');
    const allowTypeImports = verdict === 'typeOnly' ? { allowTypeImports: true } : {};
    paths.push({ name: target.name, message, ...allowTypeImports });
    // Subpath entries (`@refinery/events/testing`); `/src/...` is handled by no-package-internals without type allowance.
    patterns.push({ regex: `^${escapeRegex(target.name)}/(?!src(/|$))`, caseSensitive: true, message, ...allowTypeImports });
  }

  // External packages / built-ins: merge identical specs from several constraints into one entry.
  const exact = new Map();
  const regexes = new Map();
  for (const c of active) {
    for (const spec of c.bannedPackages ?? []) {
      const text = `[${c.name}] ${c.why}`;
      if (typeof spec === 'string' && !spec.endsWith('*')) {
        if (byName.has(spec)) continue;
        exact.set(spec, [...new Set([...(exact.get(spec) ?? []), text])]);
        const sub = `^${escapeRegex(spec)}/`;
        regexes.set(sub, [...new Set([...(regexes.get(sub) ?? []), text])]);
      } else {
        const re = specToRegex(spec);
        regexes.set(re, [...new Set([...(regexes.get(re) ?? []), text])]);
      }
    }
  }
  for (const [name, texts] of exact) paths.push({ name, message: texts.join(' ') });
  for (const [regex, texts] of regexes) patterns.push({ regex, caseSensitive: true, message: texts.join(' ') });
  return { paths, patterns };
}

/** Cartesian product of glob groups: every inner array picks one glob from each group. */
function product(groups) {
  return groups.reduce((acc, g) => acc.flatMap((combo) => g.map((glob) => [...combo, glob])), [[]]);
}

/**
 * Flat-config objects enforcing the constraints for every workspace project.
 * @param {{ workspaceRoot: string, constraints?: typeof defaultConstraints }} options
 */
export function boundaryConfigs({ workspaceRoot, constraints = defaultConstraints }) {
  const projects = readWorkspace(workspaceRoot);
  const relativeOptions = { workspaceRoot, projects: projects.map(({ name, root }) => ({ name, root })) };
  const configs = [];
  for (const project of projects) {
    const applicable = constraints.filter((c) => appliesTo(c, project));
    // File groups that some constraint exempts; each file falls into exactly one subset of them.
    const groups = [...new Map(applicable.filter((c) => c.exceptIn).map((c) => [JSON.stringify(c.exceptIn), c.exceptIn])).values()];
    const inProject = (glob) => `${project.root}/${glob}`;
    for (let mask = 0; mask < 1 << groups.length; mask++) {
      const inGroups = groups.filter((_, i) => mask & (1 << i));
      const outGroups = groups.filter((_, i) => !(mask & (1 << i)));
      const active = applicable.filter((c) => !c.exceptIn || !inGroups.some((g) => JSON.stringify(g) === JSON.stringify(c.exceptIn)));
      const restrictions = restrictionsFor(project, active, projects);
      const base = `${project.root}/**/*.${SOURCE_EXTENSIONS}`;
      configs.push({
        name: `refinery/boundaries/${project.root}${inGroups.length ? ` (${inGroups.map((g) => g.join('|')).join(' & ')})` : ''}`,
        files: inGroups.length ? product(inGroups.map((g) => g.map(inProject))).map((combo) => [base, ...combo]) : [base],
        ignores: outGroups.flat().map(inProject),
        plugins: { '@typescript-eslint': tseslint.plugin, refinery: boundariesPlugin },
        rules: {
          '@typescript-eslint/no-restricted-imports': ['error', restrictions],
          'refinery/no-restricted-dynamic-imports': ['error', restrictions],
          'refinery/no-relative-imports-across-projects': ['error', relativeOptions],
        },
      });
    }
  }
  return configs;
}
