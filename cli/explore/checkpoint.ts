/**
 * Checkpoints (`explore --checkpoint FILE`, `explore --resume FILE`): the exploration as it was
 * asked for, and everything done so far as one range result over the runs [0, next) in run
 * order (trace hashes, counters, metrics, errored runs, the first failing run). Runs are derived
 * from (seed, index) alone, so continuing at `next` and combining gives exactly the digest,
 * metrics and first violation of an uninterrupted exploration.
 *
 * Written to FILE.tmp and renamed, so a Ctrl-C or a crash never leaves half a file.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { RangeResult } from '../../core/explore.ts';
import type { Params } from '../../core/model/scenario.ts';
import { fail } from '../usage.ts';

export const CHECKPOINT_FORMAT = 'pagerace-checkpoint';
export const CHECKPOINT_VERSION = 1;

/** An exploration as plain data: what a checkpoint (and a worker) needs to run it again. */
export interface ExplorationSpec {
  scenario: string;
  /** A user's scenario module (absolute path), when the scenario is not built in. */
  module?: string;
  params: Params;
  bug: string | null;
  runs: number;
  seed: number;
  strategy: string;
  depth: number;
  maxSteps: number;
  mode: string;
  /** A fixed workload (validated), when the exploration had one. */
  workload?: unknown;
  /** The workload file it came from (for the summary and the repro's name). */
  workloadFile?: string;
  /** Delay bounding's deviations per run (strategy delay). */
  delays?: number;
  /** Collect coverage of the machines. */
  coverage?: boolean;
  /** Stop when no new (machine, state, event) triple was seen for this many runs. */
  untilCoverage?: number;
  /** dfs: the state bound, and whether it branches on the workload's draws. */
  maxStates?: number;
  branchWorkload?: boolean;
  /** This shard of the runs (no checkpoint then). */
  shard?: { index: number; count: number };
  /** Sweep fault injection instead of sampling (no checkpoint then). */
  failNth?: boolean;
}

export interface Checkpoint {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  exploration: ExplorationSpec;
  /** The runs [0, done.next) as one range result. */
  done: RangeResult;
}

export function writeCheckpoint(path: string, exploration: ExplorationSpec, done: RangeResult): void {
  const cp: Checkpoint = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, exploration, done };
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(cp) + '\n');
  renameSync(tmp, path);
}

export function readCheckpoint(path: string): Checkpoint {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(`cannot read checkpoint ${path}: ${code === 'ENOENT' ? 'no such file' : code ?? String(e)}; give the file an earlier \`explore --checkpoint FILE\` wrote`);
  }
  return parseCheckpoint(text, path);
}

/** Check every field a resume relies on; the first problem is one line. */
export function parseCheckpoint(text: string, path: string): Checkpoint {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail(`${path} is not valid JSON; a checkpoint is the file \`explore --checkpoint FILE\` writes`);
  }
  const bad = (what: string): never => fail(`${path}: ${what}`);
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!isObj(raw)) return bad('not a checkpoint (expected a JSON object)');
  if (raw.format !== CHECKPOINT_FORMAT) bad(`not a checkpoint (format is ${short(raw.format)}, expected "${CHECKPOINT_FORMAT}")`);
  if (raw.version !== CHECKPOINT_VERSION) bad(`checkpoint version ${short(raw.version)} is not supported; this pagerace reads version ${CHECKPOINT_VERSION}`);
  const e = raw.exploration;
  if (!isObj(e)) return bad('field "exploration" must be an object');
  const need = (key: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(e[key])) bad(`field "exploration.${key}": ${short(e[key])} is not allowed; ${what}`);
  };
  need('scenario', (v) => typeof v === 'string' && v.length > 0, 'a scenario name');
  need('module', (v) => v === undefined || typeof v === 'string', 'a module path or absent');
  need('params', isObj, 'an object of parameters');
  need('bug', (v) => v === null || typeof v === 'string', 'a bug variant name or null');
  need('runs', isCount, 'a whole number');
  need('seed', (v) => isCount(v) && (v as number) <= 0xffffffff, 'a whole number from 0 to 4294967295');
  need('strategy', (v) => typeof v === 'string', 'a strategy name');
  need('depth', (v) => isCount(v) && (v as number) >= 1, 'a whole number >= 1');
  need('maxSteps', (v) => isCount(v) && (v as number) >= 1, 'a whole number >= 1');
  need('mode', (v) => typeof v === 'string', 'a mode name');
  need('workloadFile', (v) => v === undefined || typeof v === 'string', 'a file name or absent');
  const d = raw.done;
  if (!isObj(d)) return bad('field "done" must be an object');
  const needD = (key: string, ok: (v: unknown) => boolean, what: string) => {
    if (!ok(d[key])) bad(`field "done.${key}": ${short(d[key])} is not allowed; ${what}`);
  };
  for (const k of ['runs', 'steps', 'maxThreads', 'maxRunSteps', 'next']) needD(k, isCount, 'a whole number');
  needD('traceHashes', (v) => Array.isArray(v) && v.every((h) => typeof h === 'string'), 'a list of trace hashes');
  needD('metrics', (v) => isObj(v) && Object.values(v).every((x) => typeof x === 'number'), 'an object of numbers');
  needD('errored', (v) => Array.isArray(v) && v.every((x) => isObj(x) && isCount(x.run) && typeof x.error === 'string'), 'a list of errored runs');
  needD('failing', (v) => v === null || (isObj(v) && isCount(v.run) && isObj(v.result) && isObj((v.result as Record<string, unknown>).schedule)), 'null or the failing run');
  const done = d as unknown as RangeResult;
  if (done.traceHashes.length !== done.runs) bad(`field "done.traceHashes" has ${done.traceHashes.length} hashes for ${done.runs} runs`);
  if (done.next > (e.runs as number)) bad(`field "done.next": ${done.next} is past the exploration's ${e.runs as number} runs`);
  if (done.runs + done.errored.length > done.next) bad(`field "done.next": ${done.next} is fewer than the ${done.runs + done.errored.length} runs recorded`);
  return raw as unknown as Checkpoint;
}

function short(v: unknown): string {
  const t = JSON.stringify(v) ?? String(v);
  return t.length > 40 ? `${t.slice(0, 37)}...` : t;
}
