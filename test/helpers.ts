import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { runOnce, type RunResult } from '../core/run.ts';
import { makeStrategy, type StrategyName } from '../core/strategies/make.ts';
import { runSeed } from '../core/prng.ts';
import { defaultParams } from '../core/params.ts';
import { iopfScenario } from '../systems/iopf/scenario.ts';
import type { Params } from '../core/model/scenario.ts';
import type { PageRequest } from '../systems/iopf/machines/types.ts';

export const ROOT = join(fileURLToPath(new URL('.', import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'pagerace.js');

export function iopfDefaults(over: Params = {}): Params {
  return { ...defaultParams(iopfScenario), ...over };
}

export function iopfRun(seed: number, opts: { bug?: string | null; strategy?: StrategyName; params?: Params; onTrace?: (l: string) => void } = {}): RunResult {
  const params = iopfDefaults(opts.params);
  return runOnce({
    scenario: iopfScenario,
    params,
    bug: opts.bug ?? null,
    seed,
    strategy: makeStrategy(opts.strategy ?? 'random', { depth: 3, steps: iopfScenario.stepEstimate(params) }),
    maxSteps: 20000,
    onTrace: opts.onTrace,
  });
}

/** Run seeds of an exploration the way `explore` derives them. */
export function seedOf(seed: number, run: number): number {
  return runSeed(seed, run);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], cwd = ROOT): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A PRI page request of dev0 (request n, group grpid), for machine and monitor tests. */
export function pageReq(n: number, grpid: number, last: boolean, over: Partial<PageRequest> = {}): PageRequest {
  return {
    reqId: `dev0#${n}`,
    dev: 'dev0',
    kind: 'page-req',
    transport: 'pri',
    bond: 0,
    pasid: 1,
    pasidValid: true,
    grpid,
    addr: 0x10000,
    perm: 1,
    last,
    privData: false,
    needsPasid: true,
    ...over,
  };
}
