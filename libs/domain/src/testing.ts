import type { Event } from '@refinery/events';
import type { Decider } from './decider.ts';

/** given(past events).when(command).then(new events) / .thenThrows(...) */
export function specFor<C, S, E extends Event>(decider: Decider<C, S, E>) {
  return (given: E[]) => ({
    when(command: C) {
      const run = () => decider.decide(command, given.reduce(decider.evolve, decider.initialState));
      return {
        then(expected: E[]) {
          const actual = run();
          if (JSON.stringify(actual) !== JSON.stringify(expected)) {
            throw new Error(`expected events ${JSON.stringify(expected)}\n but got ${JSON.stringify(actual)}`);
          }
        },
        thenThrows(check: (error: unknown) => boolean) {
          let thrown: unknown;
          try {
            run();
          } catch (e) {
            thrown = e;
          }
          if (thrown === undefined) throw new Error('expected the command to be refused, but it produced events');
          if (!check(thrown)) throw new Error(`the command was refused with an unexpected error: ${String(thrown)}`);
        },
      };
    },
  });
}
