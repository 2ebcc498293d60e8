/** The explore command's output: a human summary on stderr, and with --json one object on stdout. */
import { relative } from 'node:path';
import { coverageLines } from '../../core/coverage.ts';
import type { ExploreResult } from '../../core/explore.ts';
import type { FailNthSummary } from '../../core/failNth.ts';

export interface SummaryInfo {
  scenario: string;
  strategy: string;
  seed: number;
  bug: string | null;
  mode: string;
  workers: number;
  seconds: number;
  /** Does a run replay step for step (so it was shrunk and can be replayed exactly)? */
  replayable?: boolean;
  reproPath: string | null;
  inspectorPath?: string | null;
  /** The repro of the first errored run (written when no violation was found). */
  errorReproPath?: string | null;
  json?: boolean;
  interrupted: boolean;
  /** The workload file the runs used, if any. */
  workloadFile?: string;
  /** Where the checkpoint was written (interrupted: how to resume). */
  checkpoint?: string;
}

/** How many errored runs the human summary lists one by one. */
const ERRORED_SHOWN = 10;

/** The result object: what `explore --json` prints and the library's explore() resolves to. */
export function exploreReport(r: ExploreResult & { failNth?: FailNthSummary }, s: SummaryInfo) {
  const runsPerSecond = s.seconds > 0 ? Math.round(r.runs / s.seconds) : r.runs;
  const v = r.firstViolation;
  const exact = s.replayable ?? s.mode !== 'free';
  return {
    scenario: s.scenario,
    runs: r.runs,
    steps: r.steps,
    violations: r.violations,
    runsPerSecond,
    digest: r.digest,
    metrics: r.metrics,
    firstViolation: v
      ? { monitor: v.monitor, message: v.message, run: v.run, seed: v.runSeed, step: v.step, repro: s.reproPath, actors: v.actors, messages: v.messages, foundSteps: v.foundSteps, inspector: s.inspectorPath ?? null }
      : null,
    mode: s.mode,
    workers: s.workers,
    errored: r.errored.map(({ schedule: _, ...e }) => e),
    interrupted: s.interrupted,
    stepReplayable: exact,
    ...(s.errorReproPath ? { firstError: { ...errorOf(r), repro: s.errorReproPath } } : {}),
    strategy: s.strategy,
    seed: s.seed,
    bug: s.bug,
    ...(r.search ? { exhausted: r.search.exhausted, states: r.search.states, transitions: r.search.transitions, search: r.search } : {}),
    ...(r.failNth ? { failNth: r.failNth } : {}),
    ...(r.coverage ? { coverage: r.coverage } : {}),
    ...(r.coverageSaturated ? { coverageSaturated: true } : {}),
    ...(r.shard ? { shard: r.shard } : {}),
    ...(r.traceHashes ? { traceHashes: r.traceHashes } : {}),
    ...(r.stateHashes ? { stateHashes: r.stateHashes } : {}),
  };
}

export type ExploreReport = ReturnType<typeof exploreReport>;

export function printSummary(r: ExploreResult & { failNth?: FailNthSummary }, s: SummaryInfo): void {
  const runsPerSecond = s.seconds > 0 ? Math.round(r.runs / s.seconds) : r.runs;
  const v = r.firstViolation;
  const replayOf = (p: string) => `npx pagerace replay ${relative(process.cwd(), p) || p}`;
  const replayCmd = s.reproPath ? replayOf(s.reproPath) : null;
  const exact = s.replayable ?? s.mode !== 'free';
  if (s.json) process.stdout.write(JSON.stringify(exploreReport(r, s)) + '\n');
  const lines = [
    `pagerace explore ${s.scenario}: ${r.runs} run(s)${s.interrupted ? ' (interrupted)' : ''}, strategy ${s.strategy}, seed ${s.seed}, bug ${s.bug ?? 'none (fixed model)'}, mode ${s.mode}, ${s.workers} worker(s)${s.workloadFile ? `, workload ${s.workloadFile}` : ''}`,
    `  ${r.steps} steps, ${runsPerSecond} runs/s, ${r.violations} violation(s)${r.errored.length ? `, ${r.errored.length} errored run(s)` : ''}`,
    `  digest ${r.digest}`,
    `  metrics ${Object.entries(r.metrics).map(([k, x]) => `${k}=${Number.isInteger(x) ? x : x.toPrecision(3)}`).join(' ')}`,
  ];
  if (r.search) lines.push(...searchLines(r, s));
  if (r.failNth) lines.push(...failNthLines(r.failNth));
  if (r.coverage) lines.push(...coverageLines(r.coverage));
  if (r.coverageSaturated) lines.push(`  stopped: no new (machine, state, event) triple in the last runs (--until-coverage)`);
  if (r.shard) lines.push(`  shard ${r.shard.index}/${r.shard.count}${r.search ? '' : ` (runs ${r.shard.from} to ${r.shard.to - 1})`}: combine the shards' --json outputs with pagerace merge`);
  if (!exact) {
    lines.push(`  mode ${s.mode}: real threads without turns; the history is checked after each run; runs are not replayable step for step and the digest varies`);
  }
  for (const e of r.errored.slice(0, ERRORED_SHOWN)) lines.push(`ERRORED run ${e.run} (run seed ${e.seed})${e.step >= 0 ? ` at step ${e.step}` : ''}: ${e.error}`);
  if (r.errored.length > ERRORED_SHOWN) lines.push(`  ... and ${r.errored.length - ERRORED_SHOWN} more errored run(s) (see --json)`);
  if (r.errored.length) lines.push('  an errored run is a bug in the model (a step threw), not a race in the kernel');
  if (s.errorReproPath) lines.push(`  repro of the first errored run: ${s.errorReproPath}`, `  replay: ${replayOf(s.errorReproPath)}`);
  if (v) {
    lines.push(
      `VIOLATION ${v.monitor} in run ${v.run} (run seed ${v.runSeed}) at step ${v.step} (${!exact ? `as found, ${v.foundSteps} steps; free runs are not shrunk` : `shrunk from ${v.foundSteps} steps`})`,
      `  ${v.message}`,
      `  actors: ${v.actors.join(', ') || '-'}; messages: ${v.messages.map((m) => `#${m}`).join(', ') || '-'}`,
    );
    if (s.reproPath) lines.push(`  repro: ${s.reproPath}`, `  replay: ${replayCmd}`);
    if (s.inspectorPath) lines.push(`  inspector: ${s.inspectorPath}`);
    if (!exact) lines.push(`  (a free-mode repro re-runs its schedule with free threads and may diverge; explore with --mode inline for an exact repro)`);
  }
  if (s.checkpoint && s.interrupted && !v) lines.push(`  checkpoint: ${s.checkpoint}`, `  resume: npx pagerace explore --resume ${s.checkpoint}`);
  process.stderr.write(lines.join('\n') + '\n');
}

function searchLines(r: ExploreResult, s: SummaryInfo): string[] {
  const x = r.search!;
  const why = [
    x.budgetHit ? 'the state budget (--max-states) was reached' : '',
    x.bounded ? `${x.bounded} execution(s) were cut by --max-steps` : '',
    r.firstViolation ? 'it stopped at the violation' : '',
    r.errored.length ? 'some executions errored' : '',
  ].filter(Boolean);
  const lines = [
    `  search: ${x.states} states, ${x.transitions} transitions, ${x.executions} executions, depth ${x.maxDepth}; ${x.revisits} ended at a state seen before, ${x.sleepBlocked} with every step asleep; ${x.workloads} workload(s); restore by ${x.restore === 'snapshot' ? 'saved states' : 're-execution'}`,
    x.exhausted ? `  the bounded space was exhausted` : `  not exhausted: ${why.join('; ') || 'interrupted'}`,
  ];
  if (!x.monitorsHashed) lines.push('  note: some monitors cannot save their state (not built with stateful()): the state hash leaves monitor state out, so a pruned path could hide a verdict');
  if (x.exhausted && !r.firstViolation && x.monitorsHashed && !r.shard) lines.push(`verified for this configuration: no schedule and no data choice made during the run breaks a monitor (workload${x.workloads > 1 ? `s of the first ${x.workloads} run seeds` : ` of run 0`} of seed ${s.seed})`);
  return lines;
}

function failNthLines(f: FailNthSummary): string[] {
  const sites = Object.entries(f.sites)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, n]) => `${k} x${n}`);
  return [
    `  fail-nth: ${f.runs} run(s) over ${f.schedules} schedule(s), n up to ${f.maxN}; ${sites.length} site(s) failed: ${sites.join(', ') || 'none (no fault draw: is every fault rate 0?)'}`,
    ...(f.violationAt ? [`  the violation: schedule ${f.violationAt.run} with fault draw n=${f.violationAt.n} (${f.violationAt.site}) failing`] : []),
  ];
}

function errorOf(r: ExploreResult): { run: number; seed: number; step: number; error: string } | null {
  const e = r.errored.find((x) => x.schedule) ?? null;
  return e && { run: e.run, seed: e.seed, step: e.step, error: e.error };
}
