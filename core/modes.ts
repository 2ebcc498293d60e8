/** A scenario's execution modes: inline always, and whatever its shared state's executors add. */
import { type ExecRuntime, INLINE } from './model/executor.ts';
import type { Params, Scenario } from './model/scenario.ts';

export function modeNames(s: Scenario): readonly string[] {
  return s.modes?.names ?? ['inline'];
}

/** Does a run in this mode replay step for step (so it can be shrunk and replayed exactly)? */
export function replayable(s: Scenario, mode: string): boolean {
  return mode === 'inline' || (s.modes?.replayable(mode) ?? true);
}

/** The runtime of `mode` for an exploration of `s` with these parameters. */
export async function createRuntime(s: Scenario, mode: string, params: Params): Promise<ExecRuntime> {
  if (mode === 'inline') return INLINE;
  if (!s.modes || !s.modes.names.includes(mode)) throw new Error(`scenario ${s.name} has no execution mode "${mode}" (it has ${modeNames(s).join(', ')})`);
  return s.modes.create(mode, params);
}
