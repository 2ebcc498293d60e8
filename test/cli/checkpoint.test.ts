/**
 * Checkpoint and resume: an exploration stopped part-way and resumed from its checkpoint ends
 * with the digest, metrics and first violation of the same exploration run without a stop.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RangeResult } from '../../core/explore.ts';
import { defaultParams } from '../../core/params.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { runExploration } from '../../cli/explore/run.ts';
import { parseCheckpoint } from '../../cli/explore/checkpoint.ts';
import { BIN, ROOT, cli } from '../helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'pagerace-cp-'));

interface Case {
  bug: string | null;
  seed: number;
  over: Record<string, number>;
  runs: number;
}

function options(c: Case) {
  return { scenario: iopfScenario, params: { ...defaultParams(iopfScenario, c.bug), ...c.over }, bug: c.bug, runs: c.runs, seed: c.seed, strategy: 'random' as const, depth: 3, maxSteps: 20000, mode: 'inline' };
}

/** Run until `stopAt` runs are done (an abort, as Ctrl-C does), keeping every checkpoint. */
async function interrupted(c: Case, stopAt: number, workers: number): Promise<RangeResult> {
  const controller = new AbortController();
  let last: RangeResult | null = null;
  const out = await runExploration(options(c), workers, {
    signal: controller.signal,
    progress: { update: (c) => c.done >= stopAt && controller.abort(), done() {} },
    checkpoint: { every: 0, save: (d) => (last = structuredClone(d)) },
  });
  expect(out.interrupted).toBe(true);
  return last!;
}

describe('checkpoint and resume', () => {
  const cases: Case[] = [
    { bug: null, seed: 7, over: {}, runs: 300 },
    // Found in run 56: the resumed part finds it.
    { bug: 'partial-leak-on-alloc-failure', seed: 2, over: { allocFailRate: 0.01 }, runs: 300 },
  ];
  for (const c of cases) {
    const { bug, runs } = c;
    for (const workers of [1, 2]) {
      it(`${bug ?? 'fixed model'}, workers ${workers}: resumed = uninterrupted (digest, metrics, first violation)`, async () => {
        const whole = (await runExploration(options(c), 1)).result;
        if (bug) expect(whole.firstViolation!.run).toBeGreaterThan(40);
        const done = await interrupted(c, 20, workers);
        // Stopped part-way (with workers, at the end of the contiguous runs finished).
        expect(done.next).toBeGreaterThan(0);
        expect(done.next).toBeLessThan(whole.firstViolation?.run ?? runs);
        // Through the file format, as the CLI does.
        const cp = parseCheckpoint(JSON.stringify({ format: 'pagerace-checkpoint', version: 1, exploration: { scenario: 'iopf', params: {}, bug, runs, seed: c.seed, strategy: 'random', depth: 3, maxSteps: 20000, mode: 'inline' }, done }), 'cp.json');
        const resumed = (await runExploration(options(c), workers, { resume: cp.done })).result;
        expect(resumed.digest).toBe(whole.digest);
        expect(resumed.runs).toBe(whole.runs);
        expect(resumed.metrics).toEqual(whole.metrics);
        expect(resumed.firstViolation).toEqual(whole.firstViolation);
      });
    }
  }

  it('the CLI: Ctrl-C writes the checkpoint, --resume finishes with the digest of an uninterrupted run', async () => {
    const dir = tmp();
    const cp = join(dir, 'cp.json');
    const args = ['explore', 'iopf', '--runs', '3000', '--seed', '4', '--json'];
    const whole = JSON.parse(cli(args).stdout);
    const first = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [BIN, ...args, '--checkpoint', cp], { cwd: ROOT });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      const t = setTimeout(() => p.kill('SIGINT'), 1500);
      p.on('close', (status) => {
        clearTimeout(t);
        resolve({ status, stdout, stderr });
      });
    });
    expect(first.status, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout).interrupted).toBe(true);
    expect(first.stderr).toContain(`resume: npx pagerace explore --resume ${cp}`);
    const saved = JSON.parse(readFileSync(cp, 'utf8'));
    expect(saved.done.next).toBeLessThan(3000);
    const r = cli(['explore', '--resume', cp, '--json', '--workers', '2']);
    expect(r.status, r.stderr).toBe(0);
    const o = JSON.parse(r.stdout);
    expect(o.digest).toBe(whole.digest);
    expect(o.runs).toBe(3000);
    expect(o.interrupted).toBe(false);
  });

  it('bad checkpoints and conflicting flags: one line, exit 2', () => {
    const dir = tmp();
    const f = join(dir, 'bad.json');
    writeFileSync(f, JSON.stringify({ format: 'pagerace-checkpoint', version: 1, exploration: { scenario: 'iopf', params: {}, bug: null, runs: 10, seed: 1, strategy: 'random', depth: 3, maxSteps: 10, mode: 'inline' }, done: { runs: 2, steps: 0, traceHashes: ['a'], metrics: {}, maxThreads: 0, maxRunSteps: 0, failing: null, errored: [], next: 2 } }));
    for (const [args, pattern] of [
      [['explore', '--resume', f], /done.traceHashes" has 1 hashes for 2 runs/],
      [['explore', '--resume', join(dir, 'none.json')], /cannot read checkpoint .*no such file/],
      [['explore', '--resume', f, '--runs', '5'], /do not give --runs with it/],
    ] as const) {
      const r = cli([...args]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    }
  });
});
