/** The engines by name. */
import { fastEngine } from '../fast/engine.ts';
import { type ActorEngine, type EngineName, defaultEngine } from './engine.ts';
import { xstateEngine } from './xstate.ts';

export * from './engine.ts';
export { xstateEngine } from './xstate.ts';

export function engineNamed(name?: EngineName): ActorEngine {
  switch (name ?? defaultEngine()) {
    case 'fast':
      return fastEngine;
    case 'xstate':
      return xstateEngine;
    default:
      throw new Error(`unknown engine "${String(name)}" (fast, xstate)`);
  }
}
