/** The CLI's --mode and --workers: same results across modes and worker counts, the mode in the repro, bad input. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, cli } from '../helpers.ts';

/** Start an exploration, send SIGINT once it has run for a while, collect its output. */
function interrupt(args: string[], afterMs: number): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => p.kill('SIGINT'), afterMs);
    p.on('close', (status) => {
      clearTimeout(t);
      resolve({ status, stdout, stderr });
    });
  });
}

const KEYS = ['scenario', 'runs', 'steps', 'violations', 'runsPerSecond', 'digest', 'metrics', 'firstViolation'];

describe('pagerace explore --mode and --workers', () => {
  it('--workers 2 and --mode turnstile give the digest of --workers 1 inline; new keys come after the old ones', () => {
    const args = ['explore', 'iopf', '--runs', '120', '--seed', '5', '--json'];
    const one = cli(args);
    const two = cli([...args, '--workers', '2']);
    const turn = cli([...args, '--mode', 'turnstile']);
    for (const r of [one, two, turn]) expect(r.status, r.stderr).toBe(0);
    const [a, b, c] = [one, two, turn].map((r) => JSON.parse(r.stdout));
    expect(Object.keys(b).slice(0, KEYS.length)).toEqual(KEYS);
    expect(Object.keys(b).slice(KEYS.length, KEYS.length + 5)).toEqual(['mode', 'workers', 'errored', 'interrupted', 'stepReplayable']);
    expect(b.digest).toBe(a.digest);
    expect(c.digest).toBe(a.digest);
    expect([b.workers, c.mode, b.errored]).toEqual([2, 'turnstile', []]);
    expect(two.stderr).toMatch(/mode inline, 2 worker\(s\)/);
  });

  it('records the mode in the repro file and replays in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-modes-'));
    const r = cli(['explore', 'iopf', '--runs', '300', '--bug', 'fault-install-without-ptl', '--mode', 'turnstile', '--workers', '2', '--out', dir, '--json']);
    expect(r.status, r.stderr).toBe(1);
    const o = JSON.parse(r.stdout);
    expect(o.firstViolation.monitor).toBe('no-lost-page');
    expect(JSON.parse(readFileSync(o.firstViolation.repro, 'utf8')).mode).toBe('turnstile');
    const rep = cli(['replay', o.firstViolation.repro, '--json']);
    expect(rep.status).toBe(1);
    expect(JSON.parse(rep.stdout).violation).toEqual({ monitor: 'no-lost-page', message: o.firstViolation.message, step: o.firstViolation.step });
    expect(rep.stderr).toMatch(/mode turnstile/);
  });

  it('says that free mode is not replayable step for step', () => {
    const r = cli(['explore', 'iopf', '--runs', '20', '--mode', 'free']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/mode free/);
    expect(r.stderr).toMatch(/not replayable step for step/);
  });

  for (const workers of ['1', '2']) {
    it(`prints the results so far on Ctrl-C (--workers ${workers})`, async () => {
      const r = await interrupt(['explore', 'iopf', '--runs', '1000000', '--workers', workers, '--json'], 3000);
      expect(r.status, r.stderr).toBe(0);
      const o = JSON.parse(r.stdout);
      expect(o.interrupted).toBe(true);
      expect(o.runs).toBeLessThan(1000000);
      expect(r.stderr).toMatch(/interrupted; finishing the runs in progress/);
      expect(r.stderr).toMatch(/run\(s\) \(interrupted\)/);
    });
  }

  const bad: [string[], RegExp][] = [
    [['--mode', 'x'], /--mode must be one of inline, turnstile, free for scenario iopf, got "x"/],
    [['--workers', '0'], /--workers must be a whole number from 1 to 64, got "0"/],
    [['--workers', '1.5'], /--workers must be a whole number from 1 to 64, got "1.5"/],
    [['--workers', 'two'], /--workers must be a whole number from 1 to 64, got "two"/],
    [['--workers', '65'], /--workers must be a whole number from 1 to 64, got "65"/],
  ];
  for (const [args, pattern] of bad) {
    it(`rejects ${args.join(' ')}: one line, exit 2, no stack trace`, () => {
      const r = cli(['explore', 'iopf', ...args]);
      expect(r.status).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^pagerace: /);
      expect(lines[0]).toMatch(pattern);
    });
  }
});
