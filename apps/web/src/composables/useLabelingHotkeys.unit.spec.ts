import { describe, expect, it } from 'vitest';
import type { LabelingTask } from '../api/types';
import { isEditableTarget, resolveLabelingKey } from './useLabelingHotkeys';

function task(kind: LabelingTask['kind'], hotkeys: (string | null)[]): LabelingTask {
  return {
    id: `t-${kind}`,
    name: kind,
    kind,
    attribute: kind === 'span' ? 'text' : null,
    allowOverlap: false,
    labels: hotkeys.map((hotkey, i) => ({ id: `l${i}`, name: `L${i}`, color: '#000000', hotkey, description: '' })),
  };
}

const single = task('single_label', ['p', 'n', 'k', null]);
const span = task('span', ['e', 'l']);

describe('resolveLabelingKey', () => {
  it("toggles the focused task's label by its hotkey (case-insensitive, no shift)", () => {
    expect(resolveLabelingKey({ key: 'p' }, single)).toEqual({ type: 'toggle-label', labelId: 'l0' });
    expect(resolveLabelingKey({ key: 'N' }, single)).toEqual({ type: 'toggle-label', labelId: 'l1' });
    expect(resolveLabelingKey({ key: 'N', shiftKey: true }, single)).toBeNull();
    expect(resolveLabelingKey({ key: 'e' }, single)).toBeNull(); // another task's hotkey
    expect(resolveLabelingKey({ key: 'p' }, null)).toBeNull();
  });

  it('navigates records with arrows and j/k, undoes with u and Ctrl/⌘+Z', () => {
    expect(resolveLabelingKey({ key: 'ArrowLeft' }, single)).toEqual({ type: 'previous-record' });
    expect(resolveLabelingKey({ key: 'ArrowRight' }, single)).toEqual({ type: 'next-record' });
    expect(resolveLabelingKey({ key: 'j' }, single)).toEqual({ type: 'previous-record' });
    expect(resolveLabelingKey({ key: 'u' }, single)).toEqual({ type: 'undo' });
    expect(resolveLabelingKey({ key: 'z', ctrlKey: true }, single)).toEqual({ type: 'undo' });
    expect(resolveLabelingKey({ key: 'z', metaKey: true }, span)).toEqual({ type: 'undo' });
    expect(resolveLabelingKey({ key: 'c', ctrlKey: true }, single)).toBeNull(); // copy stays the browser's
  });

  it('lets a label hotkey win over a navigation letter', () => {
    expect(resolveLabelingKey({ key: 'k' }, single)).toEqual({ type: 'toggle-label', labelId: 'l2' });
    expect(resolveLabelingKey({ key: 'k' }, span)).toEqual({ type: 'next-record' });
  });

  it('cycles tasks with Tab and Shift+Tab', () => {
    expect(resolveLabelingKey({ key: 'Tab' }, single)).toEqual({ type: 'next-task' });
    expect(resolveLabelingKey({ key: 'Tab', shiftKey: true }, single)).toEqual({ type: 'previous-task' });
  });

  it('uses the arrows for the token cursor in span tasks', () => {
    expect(resolveLabelingKey({ key: 'ArrowRight' }, span)).toEqual({ type: 'move-cursor', delta: 1, extend: false });
    expect(resolveLabelingKey({ key: 'ArrowLeft', shiftKey: true }, span)).toEqual({ type: 'move-cursor', delta: -1, extend: true });
    expect(resolveLabelingKey({ key: 'Escape' }, span)).toEqual({ type: 'clear-selection' });
    expect(resolveLabelingKey({ key: 'ArrowRight', shiftKey: true }, single)).toBeNull();
  });
});

describe('isEditableTarget', () => {
  const el = (tagName: string, extra: Record<string, unknown> = {}) => ({ tagName, isContentEditable: false, ...extra }) as unknown as EventTarget;

  it('keeps hotkeys out of text fields but not out of buttons and checkboxes', () => {
    expect(isEditableTarget(el('TEXTAREA'))).toBe(true);
    expect(isEditableTarget(el('INPUT', { type: 'text' }))).toBe(true);
    expect(isEditableTarget(el('SELECT'))).toBe(true);
    expect(isEditableTarget(el('DIV', { isContentEditable: true }))).toBe(true);
    expect(isEditableTarget(el('INPUT', { type: 'checkbox' }))).toBe(false);
    expect(isEditableTarget(el('BUTTON'))).toBe(false);
    expect(isEditableTarget(null)).toBe(false);
  });
});
