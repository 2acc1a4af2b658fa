import type { Event } from '@refinery/events';

/** decide(command, state) -> events; evolve(state, event) -> state. Pure and deterministic. */
export interface Decider<C, S, E extends Event> {
  decide(command: C, state: S): E[];
  evolve(state: S, event: E): S;
  initialState: S;
}

export function fold<S, E extends Event>(decider: Pick<Decider<unknown, S, E>, 'evolve' | 'initialState'>, events: readonly E[]): S {
  return events.reduce(decider.evolve, decider.initialState);
}
