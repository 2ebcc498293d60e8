/** Machine tests of a bug variant: the machine as the world builds it for that variant. */
import type { AnyStateMachine } from 'xstate';
import { iopfScenario } from '../../../systems/iopf/scenario.ts';

/**
 * `machine` with the named variant's guards and actions substituted (`machine.provide`), as
 * core/world.ts does; the fixed machine for null. A variant that substitutes nothing in this
 * machine is a mistake in the test.
 */
export function withVariant<M extends AnyStateMachine>(machine: M, bug: string | null): M {
  if (bug === null) return machine;
  const variant = iopfScenario.bugs.find((b) => b.name === bug);
  if (!variant) throw new Error(`the iopf scenario has no variant ${bug}`);
  const sub = variant.provide?.[machine.id];
  if (!sub) throw new Error(`variant ${bug} substitutes nothing in ${machine.id}`);
  return machine.provide(sub as never) as M;
}
