import type { Filter, SliceEvent } from '@refinery/events';
import { DomainError } from '../errors.ts';

export interface SlicesState {
  /** sliceId → name */
  slices: Map<string, { name: string }>;
}

export const emptySlices = (): SlicesState => ({ slices: new Map() });

export function evolveSlices(state: SlicesState, event: { type: string; data: unknown }): SlicesState {
  if (event.type === 'SliceSaved') {
    const d = event.data as SliceEvent['data'] & { name: string };
    state.slices.set(d.sliceId, { name: d.name });
  } else if (event.type === 'SliceDeleted') {
    state.slices.delete((event.data as { sliceId: string }).sliceId);
  }
  return state;
}

export type SliceCommand =
  | { type: 'SaveSlice'; projectId: string; sliceId: string; name: string; kind: 'dynamic'; filter: Filter }
  | { type: 'SaveSlice'; projectId: string; sliceId: string; name: string; kind: 'static'; recordIds: string[] }
  | { type: 'DeleteSlice'; projectId: string; sliceId: string };

/** Slice names are unique per project (case-insensitive); deleting a missing slice is a 404. */
export function decideSlices(command: SliceCommand, state: SlicesState): SliceEvent[] {
  if (command.type === 'DeleteSlice') {
    if (!state.slices.has(command.sliceId)) {
      throw new DomainError('not_found', 'slice_not_found', `slice ${command.sliceId} does not exist`, { sliceId: command.sliceId });
    }
    return [{ type: 'SliceDeleted', data: { projectId: command.projectId, sliceId: command.sliceId } } as SliceEvent];
  }
  const name = command.name.trim();
  for (const [id, s] of state.slices) {
    if (id !== command.sliceId && s.name.toLowerCase() === name.toLowerCase()) {
      throw new DomainError('conflict', 'slice_name_taken', `a slice named "${s.name}" already exists`, { name: s.name, sliceId: id });
    }
  }
  const data =
    command.kind === 'dynamic'
      ? { projectId: command.projectId, sliceId: command.sliceId, name, kind: 'dynamic' as const, filter: command.filter }
      : { projectId: command.projectId, sliceId: command.sliceId, name, kind: 'static' as const, recordIds: [...new Set(command.recordIds)] };
  return [{ type: 'SliceSaved', data } as SliceEvent];
}
