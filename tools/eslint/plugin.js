// Local ESLint rules that close the gaps `no-restricted-imports` leaves open:
//   no-restricted-dynamic-imports        the same restrictions for `import('x')` and `require('x')`
//   no-relative-imports-across-projects  `../../libs/x/src/...` style imports that leave the project folder
// and one house-style variant of a stock rule:
//   no-unused-expressions                @typescript-eslint/no-unused-expressions, except that comma sequences made
//                                        only of side effects (`(sum += x), n++`, `a.shift(), b.shift()`) are allowed:
//                                        the numeric kernels in libs/weak-supervision use them deliberately.
import path from 'node:path';
import tseslint from 'typescript-eslint';

/** The string a module-loading node refers to, or undefined when it is not a plain literal. */
function literalSource(node) {
  if (!node) return undefined;
  if (node.type === 'Literal' && typeof node.value === 'string') return node.value;
  if (node.type === 'TemplateLiteral' && node.expressions.length === 0) return node.quasis[0]?.value.cooked ?? undefined;
  return undefined;
}

function isRequireCall(node) {
  return node.callee.type === 'Identifier' && node.callee.name === 'require' && node.arguments.length === 1;
}

/** @type {import('eslint').Rule.RuleModule} */
const noRestrictedDynamicImports = {
  meta: {
    type: 'problem',
    docs: { description: 'Apply the no-restricted-imports restrictions to import() and require() as well' },
    schema: [
      {
        type: 'object',
        properties: { paths: { type: 'array' }, patterns: { type: 'array' } },
        additionalProperties: false,
      },
    ],
    messages: { restricted: "'{{source}}' import is restricted from being used (also when loaded dynamically). {{message}}" },
  },
  create(context) {
    const { paths = [], patterns = [] } = context.options[0] ?? {};
    const byName = new Map(paths.map((p) => [p.name, p.message ?? '']));
    const regexes = patterns
      .filter((p) => typeof p.regex === 'string')
      .map((p) => ({ re: new RegExp(p.regex, p.caseSensitive ? 'u' : 'iu'), message: p.message ?? '' }));
    function check(node, sourceNode) {
      const source = literalSource(sourceNode)?.trim();
      if (source === undefined) return;
      const messages = [];
      if (byName.has(source)) messages.push(byName.get(source));
      for (const { re, message } of regexes) if (re.test(source)) messages.push(message);
      if (messages.length > 0) {
        context.report({ node: sourceNode, messageId: 'restricted', data: { source, message: messages.join(' ') } });
      }
    }
    return {
      ImportExpression: (node) => check(node, node.source),
      CallExpression: (node) => {
        if (isRequireCall(node)) check(node, node.arguments[0]);
      },
    };
  },
};

/** @type {import('eslint').Rule.RuleModule} */
const noRelativeImportsAcrossProjects = {
  meta: {
    type: 'problem',
    docs: { description: 'Forbid relative imports that leave the importing project folder' },
    schema: [
      {
        type: 'object',
        properties: {
          workspaceRoot: { type: 'string' },
          projects: {
            type: 'array',
            items: {
              type: 'object',
              properties: { name: { type: 'string' }, root: { type: 'string' } },
              required: ['name', 'root'],
              additionalProperties: false,
            },
          },
        },
        required: ['workspaceRoot', 'projects'],
        additionalProperties: false,
      },
    ],
    messages: {
      otherProject:
        "'{{source}}' reaches into project {{target}} ({{targetRoot}}) by relative path. Import it by package name ('{{target}}') and use only what its index.ts exports.",
      outside:
        "'{{source}}' leaves the project folder {{root}}. Projects are packages: depend on another workspace package by name instead.",
    },
  },
  create(context) {
    const { workspaceRoot, projects } = context.options[0];
    const roots = projects
      .map((p) => ({ ...p, abs: path.resolve(workspaceRoot, p.root) }))
      .sort((a, b) => b.abs.length - a.abs.length);
    const projectOf = (file) => roots.find((p) => file === p.abs || file.startsWith(p.abs + path.sep));
    const filename = context.physicalFilename ?? context.filename;
    const own = projectOf(path.resolve(filename));
    if (!own) return {};

    function check(sourceNode) {
      const source = literalSource(sourceNode);
      if (source === undefined || !(source.startsWith('./') || source.startsWith('../') || source === '..' || path.isAbsolute(source))) return;
      const target = path.resolve(path.dirname(filename), source);
      if (target === own.abs || target.startsWith(own.abs + path.sep)) return;
      const other = projectOf(target);
      if (other) {
        context.report({ node: sourceNode, messageId: 'otherProject', data: { source, target: other.name, targetRoot: other.root } });
      } else {
        context.report({ node: sourceNode, messageId: 'outside', data: { source, root: own.root } });
      }
    }
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => node.source && check(node.source),
      ImportExpression: (node) => check(node.source),
      CallExpression: (node) => {
        if (isRequireCall(node)) check(node.arguments[0]);
      },
      // `typeof import('../../x')` in type positions
      TSImportType: (node) => check(node.source ?? (node.argument?.type === 'TSLiteralType' ? node.argument.literal : undefined)),
    };
  },
};

const SIDE_EFFECTS = new Set(['AssignmentExpression', 'UpdateExpression', 'CallExpression', 'AwaitExpression', 'NewExpression', 'YieldExpression']);
function isSideEffectSequence(expr) {
  if (expr?.type === 'ChainExpression') return isSideEffectSequence(expr.expression);
  if (expr?.type !== 'SequenceExpression') return false;
  return expr.expressions.every((e) => SIDE_EFFECTS.has(e.type) || isSideEffectSequence(e));
}

const baseNoUnusedExpressions = tseslint.plugin.rules['no-unused-expressions'];
/** @type {import('eslint').Rule.RuleModule} */
const noUnusedExpressions = {
  meta: { ...baseNoUnusedExpressions.meta, docs: { description: 'no-unused-expressions, allowing comma sequences of side effects' } },
  create(context) {
    const filtered = Object.create(context, {
      report: {
        value(descriptor) {
          const node = descriptor.node;
          if (node?.type === 'ExpressionStatement' && isSideEffectSequence(node.expression)) return;
          context.report(descriptor);
        },
      },
    });
    return baseNoUnusedExpressions.create(filtered);
  },
};

export default {
  meta: { name: 'refinery-eslint-rules' },
  rules: {
    'no-restricted-dynamic-imports': noRestrictedDynamicImports,
    'no-relative-imports-across-projects': noRelativeImportsAcrossProjects,
    'no-unused-expressions': noUnusedExpressions,
  },
};
