import { onBeforeUnmount, onMounted } from 'vue';
import type { LabelingTask } from '../api/types';

export type LabelingAction =
  | { type: 'toggle-label'; labelId: string }
  | { type: 'previous-record' }
  | { type: 'next-record' }
  | { type: 'undo' }
  | { type: 'next-task' }
  | { type: 'previous-task' }
  | { type: 'move-cursor'; delta: number; extend: boolean }
  | { type: 'clear-selection' }
  | { type: 'help' };

export interface KeyLike {
  key: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

/** The keyboard map, for the help panel. `j`/`k`/`u` yield to a label hotkey of the focused task. */
export const KEYMAP: { keys: string[]; action: string }[] = [
  { keys: ['←', 'j'], action: 'Previous record' },
  { keys: ['→', 'k'], action: 'Next record' },
  { keys: ['Tab', 'Shift+Tab'], action: 'Next / previous task' },
  { keys: ['u', 'Ctrl+Z'], action: 'Undo the last label change' },
  { keys: ['label key'], action: 'Toggle that label on the focused task' },
  { keys: ['← →'], action: 'Span task: move the token cursor' },
  { keys: ['Shift+← →'], action: 'Span task: extend the selection' },
  { keys: ['Esc'], action: 'Span task: clear the selection' },
  { keys: ['?'], action: 'Show / hide this help' },
];

/**
 * Maps a key press to a labeling action for the focused task, or null to let the browser have it.
 * Span tasks use the arrows for the token cursor (records then move with j/k).
 */
export function resolveLabelingKey(event: KeyLike, task: LabelingTask | null): LabelingAction | null {
  const key = event.key;
  if (event.ctrlKey || event.metaKey) {
    if (key.toLowerCase() === 'z' && !event.shiftKey && !event.altKey) return { type: 'undo' };
    return null;
  }
  if (event.altKey) return null;
  if (key === 'Tab') return event.shiftKey ? { type: 'previous-task' } : { type: 'next-task' };

  const span = task?.kind === 'span';
  if (key === 'ArrowLeft' || key === 'ArrowRight') {
    const delta = key === 'ArrowLeft' ? -1 : 1;
    if (span) return { type: 'move-cursor', delta, extend: Boolean(event.shiftKey) };
    if (event.shiftKey) return null;
    return delta < 0 ? { type: 'previous-record' } : { type: 'next-record' };
  }
  if (key === 'Escape') return span ? { type: 'clear-selection' } : null;
  if (key === '?') return { type: 'help' };
  if (event.shiftKey || key.length !== 1) return null;

  const lower = key.toLowerCase();
  const label = task?.labels.find((l) => l.hotkey === lower);
  if (label) return { type: 'toggle-label', labelId: label.id };
  if (lower === 'j') return { type: 'previous-record' };
  if (lower === 'k') return { type: 'next-record' };
  if (lower === 'u') return { type: 'undo' };
  return null;
}

/** True for targets where typing must not trigger hotkeys (inputs, text areas, selects, editable content). */
export function isEditableTarget(target: EventTarget | null): boolean {
  if (!target || typeof (target as HTMLElement).tagName !== 'string') return false;
  const element = target as HTMLElement;
  const tag = element.tagName.toLowerCase();
  if (tag === 'textarea' || tag === 'select') return true;
  if (tag === 'input') {
    const type = (element as HTMLInputElement).type;
    return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color'].includes(type);
  }
  return element.isContentEditable;
}

/** Listens for labeling keys on the window while the component is mounted. */
export function useLabelingHotkeys(focusedTask: () => LabelingTask | null, onAction: (action: LabelingAction) => void) {
  function onKeydown(event: KeyboardEvent): void {
    if (event.defaultPrevented || event.isComposing || isEditableTarget(event.target)) return;
    const action = resolveLabelingKey(event, focusedTask());
    if (!action) return;
    event.preventDefault();
    onAction(action);
  }
  onMounted(() => window.addEventListener('keydown', onKeydown));
  onBeforeUnmount(() => window.removeEventListener('keydown', onKeydown));
  return { onKeydown };
}
