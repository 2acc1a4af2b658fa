/**
 * The CodeMirror 6 editor behind HeuristicsCodeEditor.vue. Kept in its own module so the component
 * can load it with `import()`: CodeMirror and its language packages are a separate chunk that only
 * the heuristics page fetches.
 */
import { basicSetup } from 'codemirror';
import { syntaxTree } from '@codemirror/language';
import { lintGutter, linter, type Diagnostic } from '@codemirror/lint';
import { Annotation, Compartment, EditorState, RangeSetBuilder, StateEffect, StateField, type Extension, type Text } from '@codemirror/state';
import { Decoration, EditorView, keymap, type DecorationSet } from '@codemirror/view';
import { indentWithTab } from '@codemirror/commands';

export type CodeLanguage = 'javascript' | 'typescript' | 'python';

/** An error to show in the code: 1-based line, optional 1-based column (as the sandbox reports them). */
export interface CodeDiagnostic {
  line: number;
  column?: number | null;
  message: string;
  severity?: 'error' | 'warning' | 'info';
}

export interface CodeEditorOptions {
  value: string;
  language: CodeLanguage;
  readonly: boolean;
  label: string;
  onChange: (value: string) => void;
  /** Mod-Enter; Shift-Mod-Enter passes `sample: true` */
  onRun?: (options: { sample: boolean }) => void;
}

export interface CodeEditorHandle {
  readonly view: EditorView;
  setValue(value: string): void;
  setLanguage(language: CodeLanguage): void;
  setReadonly(readonly: boolean): void;
  setDiagnostics(diagnostics: readonly CodeDiagnostic[]): void;
  destroy(): void;
}

/** Changes made from outside (v-model) are not echoed back as edits. */
const external = Annotation.define<boolean>();

/** Language support is loaded on demand (its own chunks): a Python user never fetches the JavaScript grammar. */
async function loadLanguage(language: CodeLanguage): Promise<Extension> {
  if (language === 'python') return (await import('@codemirror/lang-python')).python();
  return (await import('@codemirror/lang-javascript')).javascript({ typescript: language === 'typescript' });
}

/** The errors of the last run (from the server), kept in place while the user edits around them. */
const setRunDiagnostics = StateEffect.define<Diagnostic[]>();
const runDiagnostics = StateField.define<Diagnostic[]>({
  create: () => [],
  update(list, tr) {
    for (const e of tr.effects) if (e.is(setRunDiagnostics)) return e.value;
    if (!tr.docChanged || list.length === 0) return list;
    return list.map((d) => {
      const from = tr.changes.mapPos(d.from, 1);
      return { ...d, from, to: Math.max(from, tr.changes.mapPos(d.to, -1)) };
    });
  },
});

/**
 * One lint source: the run's errors plus the syntax errors the editor's own parser finds (Lezer
 * error nodes) while the user types. (A linter replaces all diagnostics when it runs, so the run's
 * errors go through it too.)
 */
const diagnosticsLinter = linter(
  (view) => {
    const found: Diagnostic[] = [...view.state.field(runDiagnostics)];
    let parserErrors = 0;
    const end = view.state.doc.length;
    syntaxTree(view.state).iterate({
      enter(node) {
        if (!node.type.isError || parserErrors >= 20) return;
        const from = Math.min(node.from, end);
        const to = Math.min(end, Math.max(node.to, from + 1));
        parserErrors++;
        found.push({ from, to, severity: 'warning', source: 'editor', message: 'Syntax error (found by the editor while you type; the run reports the exact error)' });
      },
    });
    return found;
  },
  { delay: 400, needsRefresh: (u) => u.transactions.some((t) => t.effects.some((e) => e.is(setRunDiagnostics))) },
);

/** Whole-line highlight (with a test id) for the lines of error diagnostics from the server. */
const setErrorLines = StateEffect.define<number[]>();
const errorLineDecoration = Decoration.line({ attributes: { class: 'cm-heuristic-error-line', 'data-testid': 'code-error-line' } });
const errorLines = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(deco, tr) {
    deco = deco.map(tr.changes);
    for (const e of tr.effects) {
      if (!e.is(setErrorLines)) continue;
      const builder = new RangeSetBuilder<Decoration>();
      for (const line of [...new Set(e.value)].sort((a, b) => a - b)) {
        if (line >= 1 && line <= tr.state.doc.lines) {
          const at = tr.state.doc.line(line).from;
          builder.add(at, at, errorLineDecoration);
        }
      }
      deco = builder.finish();
    }
    return deco;
  },
  provide: (f) => EditorView.decorations.from(f),
});

/** Maps a sandbox position (1-based line and column) to a range of the document. */
export function diagnosticRange(doc: Text, d: CodeDiagnostic): { from: number; to: number } {
  const lineNo = Math.min(Math.max(1, Math.floor(d.line)), doc.lines);
  const line = doc.line(lineNo);
  const col = d.column && d.column > 0 ? Math.min(d.column - 1, line.length) : 0;
  // from the column to the end of the line (the sandbox gives a point; a point is hard to see)
  const from = line.from + (col >= line.length ? 0 : col);
  return { from, to: line.to > from ? line.to : Math.min(doc.length, from + 1) };
}

const theme = EditorView.theme({
  '&': { height: '320px', fontSize: '13px', border: '1px solid var(--color-border)', borderRadius: 'var(--radius)', background: 'var(--color-surface)' },
  '&.cm-focused': { outline: '2px solid var(--color-primary)', outlineOffset: '-1px' },
  '.cm-scroller': { overflow: 'auto', fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', lineHeight: '20px' },
  '.cm-gutters': { background: 'var(--color-bg, #f6f7f9)', color: 'var(--color-text-muted)', borderRight: '1px solid var(--color-border)' },
  '.cm-heuristic-error-line': { background: '#fee2e2' },
});

export function createCodeEditor(parent: HTMLElement, options: CodeEditorOptions): CodeEditorHandle {
  const languageSlot = new Compartment();
  const readonlySlot = new Compartment();
  const runKeys = keymap.of([
    {
      key: 'Mod-Enter',
      preventDefault: true,
      run: () => {
        options.onRun?.({ sample: false });
        return options.onRun !== undefined;
      },
    },
    {
      key: 'Shift-Mod-Enter',
      preventDefault: true,
      run: () => {
        options.onRun?.({ sample: true });
        return options.onRun !== undefined;
      },
    },
  ]);
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: options.value,
      extensions: [
        runKeys,
        basicSetup,
        keymap.of([indentWithTab]),
        EditorState.tabSize.of(2),
        languageSlot.of([]),
        readonlySlot.of([EditorState.readOnly.of(options.readonly), EditorView.editable.of(!options.readonly)]),
        runDiagnostics,
        diagnosticsLinter,
        lintGutter(),
        errorLines,
        theme,
        EditorView.contentAttributes.of({ 'aria-label': options.label, 'data-testid': 'code-editor', spellcheck: 'false', autocapitalize: 'off', autocorrect: 'off' }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged && !u.transactions.some((t) => t.annotation(external))) options.onChange(u.state.doc.toString());
        }),
      ],
    }),
  });

  let wanted = options.language;
  const applyLanguage = (language: CodeLanguage): void => {
    wanted = language;
    loadLanguage(language).then(
      (ext) => {
        if (wanted === language && !destroyed) view.dispatch({ effects: languageSlot.reconfigure(ext) });
      },
      () => undefined, // no highlighting is better than no editor
    );
  };
  let destroyed = false;
  applyLanguage(options.language);

  return {
    view,
    setValue(value) {
      if (value === view.state.doc.toString()) return;
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value }, annotations: external.of(true) });
    },
    setLanguage(language) {
      applyLanguage(language);
    },
    setReadonly(readonly) {
      view.dispatch({ effects: readonlySlot.reconfigure([EditorState.readOnly.of(readonly), EditorView.editable.of(!readonly)]) });
    },
    setDiagnostics(list) {
      const doc = view.state.doc;
      const diagnostics: Diagnostic[] = list
        .filter((d) => Number.isFinite(d.line) && d.line >= 1)
        .map((d) => ({ ...diagnosticRange(doc, d), severity: d.severity ?? 'error', source: 'run', message: d.message }));
      const lines = list.filter((d) => (d.severity ?? 'error') === 'error' && d.line >= 1 && d.line <= doc.lines).map((d) => Math.floor(d.line));
      view.dispatch({ effects: [setRunDiagnostics.of(diagnostics), setErrorLines.of(lines)] });
    },
    destroy() {
      destroyed = true;
      view.destroy();
    },
  };
}
