/**
 * Merging the shards of one exploration (`explore --shard I/N --json`, run anywhere: a CI matrix,
 * a Kubernetes Indexed Job) into what the unsharded exploration reports.
 * - Sampling strategies and fail-nth: shard I ran the contiguous runs [from, to); in shard order,
 *   the runs' trace hashes concatenate into the unsharded digest, up to and including the first
 *   shard with a violation (the unsharded exploration stops at its first violation, which is the
 *   earliest one); counts, metrics, errored runs and coverage add up over the same shards.
 * - dfs: each shard explored its own subtrees; the visited states' hashes merge by union (the
 *   digest is over the sorted union, as unsharded), coverage by union; the space is exhausted when
 *   every shard's part was.
 */
import { createHash } from 'node:crypto';
import { type CoverageReport, mergeCoverage } from './coverage.ts';

/** The fields of an `explore --json` output that merging reads. */
export interface ShardOutput {
  scenario: string;
  strategy: string;
  seed: number;
  bug: string | null;
  runs: number;
  steps: number;
  violations: number;
  digest: string;
  metrics: Record<string, number>;
  firstViolation: unknown;
  errored: unknown[];
  shard: { index: number; count: number; from: number; to: number };
  traceHashes?: string[];
  stateHashes?: string[];
  coverage?: CoverageReport;
  exhausted?: boolean;
  states?: number;
  transitions?: number;
}

export interface Merged {
  scenario: string;
  strategy: string;
  seed: number;
  bug: string | null;
  shards: number;
  runs: number;
  steps: number;
  violations: number;
  digest: string;
  metrics: Record<string, number>;
  firstViolation: unknown;
  errored: unknown[];
  coverage?: CoverageReport;
  exhausted?: boolean;
  states?: number;
  transitions?: number;
}

export class MergeError extends Error {}

/** Metrics an exploration derives from the others: recomputed, not added. */
const DERIVED = new Set(['meanSteps', 'pctBound']);

export function mergeShards(outs: { name: string; out: ShardOutput }[], derive?: (totals: Record<string, number>) => Record<string, number>): Merged {
  if (outs.length === 0) throw new MergeError('no shard outputs given');
  const first = outs[0].out;
  for (const { name, out } of outs) {
    if (!out.shard) throw new MergeError(`${name}: not a shard's output (no "shard" field: run explore with --shard I/N --json)`);
    for (const k of ['scenario', 'strategy', 'seed', 'bug'] as const) {
      if (out[k] !== first[k]) throw new MergeError(`${name}: ${k} is ${JSON.stringify(out[k])}, but ${outs[0].name} has ${JSON.stringify(first[k])}: shards of one exploration share it`);
    }
    if (out.shard.count !== first.shard.count) throw new MergeError(`${name}: shard of ${out.shard.count}, but ${outs[0].name} is a shard of ${first.shard.count}`);
  }
  const n = first.shard.count;
  const byIndex = new Map<number, { name: string; out: ShardOutput }>();
  for (const o of outs) {
    const prev = byIndex.get(o.out.shard.index);
    if (prev) throw new MergeError(`${o.name} and ${prev.name} are both shard ${o.out.shard.index}/${n}`);
    byIndex.set(o.out.shard.index, o);
  }
  const missing = [...Array(n).keys()].filter((i) => !byIndex.has(i));
  if (missing.length) throw new MergeError(`missing shard(s) ${missing.map((i) => `${i}/${n}`).join(', ')}: give every shard's output`);
  const ordered = [...Array(n).keys()].map((i) => byIndex.get(i)!);
  const base = { scenario: first.scenario, strategy: first.strategy, seed: first.seed, bug: first.bug, shards: n };

  if (first.strategy === 'dfs') {
    const states = new Set<string>();
    let runs = 0;
    let steps = 0;
    for (const { name, out } of ordered) {
      if (!out.stateHashes) throw new MergeError(`${name}: a dfs shard's output needs "stateHashes"`);
      for (const h of out.stateHashes) states.add(h);
      runs += out.runs;
      steps += out.steps;
    }
    const digest = createHash('sha256');
    for (const h of [...states].sort()) digest.update(h);
    const failed = ordered.find((o) => o.out.firstViolation);
    const covs = ordered.map((o) => o.out.coverage).filter((c): c is CoverageReport => Boolean(c));
    return {
      ...base,
      runs,
      steps,
      violations: failed ? 1 : 0,
      digest: digest.digest('hex'),
      metrics: {},
      firstViolation: failed?.out.firstViolation ?? null,
      errored: ordered.flatMap((o) => o.out.errored),
      ...(covs.length ? { coverage: mergeCoverage(covs) } : {}),
      exhausted: ordered.every((o) => o.out.exhausted),
      states: states.size,
      transitions: ordered.reduce((s, o) => s + (o.out.transitions ?? 0), 0),
    };
  }

  // Runs in order, up to and including the first shard with a violation.
  const upTo = ordered.findIndex((o) => o.out.firstViolation);
  const used = upTo < 0 ? ordered : ordered.slice(0, upTo + 1);
  for (let i = 1; i < ordered.length; i++) {
    if (ordered[i].out.shard.from !== ordered[i - 1].out.shard.to) throw new MergeError(`${ordered[i].name}: its runs start at ${ordered[i].out.shard.from}, but shard ${i - 1} ended at ${ordered[i - 1].out.shard.to}: shards of one exploration (same --runs)`);
  }
  const digest = createHash('sha256');
  const metrics: Record<string, number> = {};
  let runs = 0;
  let steps = 0;
  for (const { name, out } of used) {
    if (!out.traceHashes) throw new MergeError(`${name}: a shard's output needs "traceHashes"`);
    for (const h of out.traceHashes) digest.update(h);
    runs += out.runs;
    steps += out.steps;
    const derived = new Set(Object.keys(derive?.(out.metrics) ?? {}));
    for (const [k, v] of Object.entries(out.metrics)) {
      if (DERIVED.has(k) || derived.has(k)) continue;
      metrics[k] = k.startsWith('max') ? Math.max(metrics[k] ?? 0, v) : (metrics[k] ?? 0) + v;
    }
  }
  metrics.meanSteps = runs ? Math.round((steps / runs) * 10) / 10 : 0;
  Object.assign(metrics, derive?.(metrics) ?? {});
  const covs = used.map((o) => o.out.coverage).filter((c): c is CoverageReport => Boolean(c));
  return {
    ...base,
    runs,
    steps,
    violations: upTo < 0 ? 0 : 1,
    digest: digest.digest('hex'),
    metrics,
    firstViolation: upTo < 0 ? null : ordered[upTo].out.firstViolation,
    errored: used.flatMap((o) => o.out.errored),
    ...(covs.length ? { coverage: mergeCoverage(covs) } : {}),
  };
}
