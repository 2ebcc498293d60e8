/**
 * `pagerace replay <repro.json>`: re-execute the schedule exactly, in the repro's mode (inline,
 * turnstile: the same trace; free: the same schedule with free threads, which can diverge). If
 * the model no longer fits it, say at which step and what the schedule expected.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { type Repro, ReproError, readRepro } from '../../core/repro.ts';
import { replayFullTrace } from '../../core/fullTrace.ts';
import { replaySchedule } from '../../core/replayRun.ts';
import { createRuntime, modeNames, replayable } from '../../core/modes.ts';
import { checkParams, findBug, scenarioOfRepro } from '../params.ts';
import { reproWorkload } from '../workload.ts';
import { fail, parseEngine } from '../usage.ts';
import type { EngineName } from '../../core/engine/engine.ts';

export async function replayCommand(file: string, f: { trace?: string; engine?: string; json?: boolean }): Promise<number> {
  const engine = parseEngine(f.engine);
  let repro;
  try {
    repro = readRepro(file);
  } catch (e) {
    if (e instanceof ReproError) fail(e.message);
    throw e;
  }
  const { report, code, lines } = await replayRepro(repro, file, { ...f, engine });
  if (f.json) process.stdout.write(JSON.stringify(report) + '\n');
  process.stderr.write(lines.join('\n') + '\n');
  return code;
}

/** What `replay --json` prints and the library's replay() resolves to. */
export interface ReplayReport {
  violation: { monitor: string; message: string; step: number } | null;
  steps: number;
  traceHash: string;
  divergence?: { step: number; message: string; expected: string; enabled: string[] };
  error?: { step: number; message: string };
}

/** Replay a (validated) repro: the report, the exit code and the human lines. */
export async function replayRepro(repro: Repro, file: string, f: { trace?: string; engine?: EngineName }): Promise<{ report: ReplayReport; code: number; lines: string[] }> {
  const { scenario } = await scenarioOfRepro(repro, file);
  const bug = findBug(scenario, repro.bug ?? undefined);
  const params = checkParams(scenario, repro.parameters, file);
  const workload = await reproWorkload(scenario, repro, params, file);
  let out: WriteStream | null = null;
  if (f.trace) {
    out = createWriteStream(f.trace);
    await new Promise<void>((resolve, reject) => {
      out!.once('open', () => resolve());
      out!.once('error', (e: NodeJS.ErrnoException) => reject(new ReproError(`cannot write trace file ${f.trace}: ${e.code ?? e.message}`)));
    }).catch((e) => fail((e as Error).message));
  }
  const mode = repro.mode ?? 'inline';
  if (!modeNames(scenario).includes(mode)) fail(`${file}: mode "${mode}" is not a mode of scenario ${scenario.name} (${modeNames(scenario).join(', ')})`);
  const exact = replayable(scenario, mode);
  const runtime = await createRuntime(scenario, mode, params);
  let r;
  try {
    const target = { scenario, params, bug, maxSteps: repro.maxSteps, runtime, engine: f.engine, workload };
    r = out ? replayFullTrace(target, repro.schedule, { repro: file }, (l) => out!.write(l + '\n')) : replaySchedule(target, repro.schedule);
  } finally {
    await runtime.close();
  }
  if (out) await new Promise<void>((resolve) => out!.end(resolve));
  const violation = r.violation ? { monitor: r.violation.monitor, message: r.violation.message, step: r.violation.step } : null;
  const report: ReplayReport = { violation, steps: r.steps, traceHash: r.traceHash, ...(r.divergence ? { divergence: r.divergence } : {}), ...(r.error ? { error: r.error } : {}) };
  const freeNote = `mode ${mode} is not replayable step for step: the threads' timing differs from the recorded run (explore with --mode inline for an exact repro)`;
  if (r.divergence) return { report, code: 2, lines: [`pagerace replay: ${file}: ${r.divergence.message}${exact ? '' : `; ${freeNote}`}`] };
  const lines = [`pagerace replay ${file}: ${r.steps} steps, trace ${r.traceHash}${mode === 'inline' ? '' : `, mode ${mode}`}`];
  if (!exact) lines.push(`  ${freeNote}`);
  if (r.error) {
    const same = r.error.step === repro.error?.step && r.error.message === repro.error?.message;
    lines.push(`ERROR at step ${r.error.step}${same ? ' (as recorded)' : ''}: ${r.error.message}`, '  the model threw: this is a bug in the model, not a race in the kernel');
    if (f.trace) lines.push(`  trace written to ${f.trace}`);
    return { report, code: 3, lines };
  }
  if (violation) {
    const same = violation.monitor === repro.violation?.monitor;
    lines.push(`VIOLATION ${violation.monitor} at step ${violation.step}${same ? ' (as recorded)' : ` (the repro recorded ${repro.violation?.monitor})`}`, `  ${violation.message}`);
  } else {
    lines.push(`no violation (the repro recorded ${repro.violation?.monitor ?? 'none'})`);
  }
  if (f.trace) lines.push(`  trace written to ${f.trace}`);
  return { report, code: violation ? 1 : 0, lines };
}
