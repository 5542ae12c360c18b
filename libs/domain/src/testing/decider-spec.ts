import { expect } from '@jest/globals';
import { foldEvents, type Decider } from '../decider.js';

/** Given/when/then for deciders: the state is folded from `given` events, then `when` decides. */
export const DeciderSpecification = {
  for<C, E, S>(decider: Decider<C, E, S>) {
    return {
      given(events: readonly E[]) {
        return {
          when(command: C) {
            const decide = () => decider.decide(command, foldEvents(decider, events));
            return {
              /** The decision is exactly these events (no extra keys, undefined ones included). */
              then(expected: readonly E[]): void {
                expect(decide()).toStrictEqual(expected);
              },
              thenNothing(): void {
                expect(decide()).toStrictEqual([]);
              },
              thenThrows(errorClass: abstract new (...args: never[]) => Error, messageFragment?: string): void {
                let caught: unknown;
                try {
                  decide();
                } catch (error) {
                  caught = error;
                }
                expect(caught).toBeInstanceOf(errorClass);
                if (messageFragment !== undefined) expect((caught as Error).message).toContain(messageFragment);
              },
            };
          },
        };
      },
    };
  },
};
