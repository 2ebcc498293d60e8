/**
 * `pagerace replay <repro.json>`: re-execute the schedule exactly, in the repro's mode (inline,
 * turnstile: the same trace; free: the same schedule with free threads, which can diverge). If
 * the model no longer fits it, say at which step and what the schedule expected.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { ReproError, readRepro } from '../../core/repro.ts';
import { replayFullTrace } from '../../core/fullTrace.ts';
import { replaySchedule } from '../../core/replayRun.ts';
import { createMmRuntime } from '../../kernel/mm/threads/pool.ts';
import { checkParams, findBug, findScenario } from '../params.ts';
import { fail } from '../usage.ts';

export async function replayCommand(file: string, f: { trace?: string; json?: boolean }): Promise<number> {
  let repro;
  try {
    repro = readRepro(file);
  } catch (e) {
    if (e instanceof ReproError) fail(e.message);
    throw e;
  }
  const scenario = findScenario(repro.scenario);
  const bug = findBug(scenario, repro.bug ?? undefined);
  const params = checkParams(scenario, repro.parameters, file);
  let out: WriteStream | null = null;
  if (f.trace) {
    out = createWriteStream(f.trace);
    await new Promise<void>((resolve, reject) => {
      out!.once('open', () => resolve());
      out!.once('error', (e: NodeJS.ErrnoException) => reject(new ReproError(`cannot write trace file ${f.trace}: ${e.code ?? e.message}`)));
    }).catch((e) => fail((e as Error).message));
  }
  const mode = repro.mode ?? 'inline';
  const mm = await createMmRuntime(mode, { threads: Number(params.kworkers ?? 2) });
  let r;
  try {
    const target = { scenario, params, bug, maxSteps: repro.maxSteps, mm };
    r = out ? replayFullTrace(target, repro.schedule, { repro: file }, (l) => out!.write(l + '\n')) : replaySchedule(target, repro.schedule);
  } finally {
    await mm.close();
  }
  if (out) await new Promise<void>((resolve) => out!.end(resolve));
  const violation = r.violation ? { monitor: r.violation.monitor, message: r.violation.message, step: r.violation.step } : null;
  if (f.json) {
    process.stdout.write(JSON.stringify({ violation, steps: r.steps, traceHash: r.traceHash, ...(r.divergence ? { divergence: r.divergence } : {}) }) + '\n');
  }
  const freeNote = "free mode is not replayable step for step: the threads' timing differs from the recorded run (explore with --mode inline for an exact repro)";
  if (r.divergence) {
    process.stderr.write(`pagerace replay: ${file}: ${r.divergence.message}${mode === 'free' ? `; ${freeNote}` : ''}\n`);
    return 2;
  }
  const lines = [`pagerace replay ${file}: ${r.steps} steps, trace ${r.traceHash}${mode === 'inline' ? '' : `, mode ${mode}`}`];
  if (mode === 'free') lines.push(`  ${freeNote}`);
  if (violation) {
    const same = violation.monitor === repro.violation?.monitor;
    lines.push(`VIOLATION ${violation.monitor} at step ${violation.step}${same ? ' (as recorded)' : ` (the repro recorded ${repro.violation?.monitor})`}`, `  ${violation.message}`);
  } else {
    lines.push(`no violation (the repro recorded ${repro.violation?.monitor ?? 'none'})`);
  }
  if (f.trace) lines.push(`  trace written to ${f.trace}`);
  process.stderr.write(lines.join('\n') + '\n');
  return violation ? 1 : 0;
}
