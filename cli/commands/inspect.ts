/**
 * `pagerace inspect <repro.json|trace.jsonl> [--out FILE.html]`: one self-contained HTML file
 * to step through a run. A repro is replayed first; a trace (from `replay --trace`) is read as
 * it is. `explore` uses `writeReproInspector` to put an inspector beside each repro it writes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type FullTrace, collectFullTrace } from '../../core/fullTrace.ts';
import { type Repro, ReproError, validateRepro } from '../../core/repro.ts';
import { InspectorError, buildInspectorHtml } from '../../inspect/html/index.ts';
import { TraceFileError, parseTraceJsonl } from '../../inspect/traceFile.ts';
import type { Scenario } from '../../core/model/scenario.ts';
import { checkParams, findBug, scenarioOfRepro } from '../params.ts';
import { fail } from '../usage.ts';
import { reproWorkload } from '../workload.ts';

export async function inspectCommand(file: string, f: { out?: string }): Promise<number> {
  const { trace, scenario } = await readInput(file);
  const out = f.out ?? `${file.replace(/\.(json|jsonl)$/i, '')}.html`;
  await writeInspector(trace, file, out, scenario);
  process.stderr.write(`inspector: ${out}\n`);
  return 0;
}

/** Replay a repro and write its inspector to `out` (`known`: the scenario and workload, when the caller has them). */
export async function writeReproInspector(repro: Repro, reproPath: string, out: string, known?: { scenario: Scenario; workload?: unknown }): Promise<void> {
  const t = await traceOfRepro(repro, reproPath, known);
  await writeInspector(t.trace, reproPath, out, t.scenario);
}

async function writeInspector(trace: FullTrace, source: string, out: string, scenario?: Scenario): Promise<void> {
  let html: string;
  try {
    html = await buildInspectorHtml(trace, { source, scenario });
  } catch (e) {
    if (e instanceof InspectorError) fail(`${source}: ${e.message}`);
    throw e;
  }
  try {
    writeFileSync(out, html);
  } catch (e) {
    fail(`cannot write inspector file ${out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}; choose another --out`);
  }
}

async function traceOfRepro(repro: Repro, file: string, known?: { scenario: Scenario; workload?: unknown }): Promise<{ trace: FullTrace; scenario: Scenario }> {
  const scenario = known?.scenario ?? (await scenarioOfRepro(repro, file)).scenario;
  const bug = findBug(scenario, repro.bug ?? undefined);
  const params = checkParams(scenario, repro.parameters, file);
  const workload = known ? known.workload : await reproWorkload(scenario, repro, params, file);
  const { trace, result } = collectFullTrace({ scenario, params, bug, maxSteps: repro.maxSteps, workload }, repro.schedule, { repro: file });
  if (result.divergence) fail(`${file}: ${result.divergence.message}`);
  return { trace, scenario };
}

/** A repro (one JSON object) or a trace (JSON Lines starting with a header). */
async function readInput(file: string): Promise<{ trace: FullTrace; scenario?: Scenario }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}; give a repro file (from explore) or a trace (from replay --trace)`);
  }
  const neither = `${file} is neither a repro file (the JSON explore writes) nor a trace (the JSON Lines replay --trace writes)`;
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    whole = undefined;
  }
  try {
    if (whole !== undefined && !(typeof whole === 'object' && whole !== null && 'header' in whole)) {
      if (typeof whole !== 'object' || whole === null || !('format' in whole)) fail(neither);
      return await traceOfRepro(validateRepro(whole, file), file);
    }
    const nl = text.indexOf('\n');
    const firstLine = nl < 0 ? text : text.slice(0, nl);
    if (!/^\s*\{\s*"header"\s*:/.test(firstLine)) fail(neither);
    return { trace: parseTraceJsonl(text, file) };
  } catch (e) {
    if (e instanceof ReproError || e instanceof TraceFileError) fail(e.message);
    throw e;
  }
}
