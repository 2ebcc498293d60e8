/**
 * The exploration's V8 flags: the command-line ones are given by every way the README starts
 * pagerace (the bin's shebang, npm start, npm run bench), so the bench measures what users run.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { COMMAND_LINE_V8_FLAGS, EXPLORATION_V8_FLAGS, tuneV8ForExploration } from '../../workers/v8flags.ts';
import { ROOT } from '../helpers.ts';

describe('exploration V8 flags', () => {
  it('are on the bin shebang and the start and bench scripts', () => {
    const shebang = readFileSync(join(ROOT, 'bin/pagerace.js'), 'utf8').split('\n')[0];
    const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
    expect(shebang.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    for (const flag of COMMAND_LINE_V8_FLAGS) {
      expect(shebang.split(' ')).toContain(flag);
      expect(scripts.start.split(' ')).toContain(flag);
      expect(scripts.bench.split(' ')).toContain(flag);
    }
  });

  it('set the run-time ones once, without disturbing a running heap', () => {
    expect(EXPLORATION_V8_FLAGS).toContain('--no-allocation-site-pretenuring');
    tuneV8ForExploration();
    tuneV8ForExploration();
    // Allocate through a few scavenges after the change: V8 keeps running.
    let keep = 0;
    for (let i = 0; i < 200_000; i++) keep += [i, { i }].length;
    expect(keep).toBe(400_000);
    expect(getHeapStatistics().used_heap_size).toBeGreaterThan(0);
  });

  it('--single-threaded-gc takes effect: no scavenge work on background threads (and without it there is some)', () => {
    const shebang = readFileSync(join(ROOT, 'bin/pagerace.js'), 'utf8').split('\n')[0];
    const flags = shebang.split(' ').filter((w) => w.startsWith('--'));
    const background = (extra: string[]) => {
      const r = spawnSync(process.execPath, [...extra, '--trace-gc-nvp', join(ROOT, 'bin/pagerace.js'), 'explore', 'iopf', '--runs', '300', '--json'], { cwd: ROOT, encoding: 'utf8' });
      const xs = [...r.stdout.matchAll(/background\.scavenge\.parallel=([0-9.]+)/g)].map((m) => Number(m[1]));
      expect(xs.length, 'scavenges traced').toBeGreaterThan(5);
      return xs.reduce((a, b) => a + b, 0);
    };
    expect(background(flags)).toBe(0);
    expect(background([])).toBeGreaterThan(0);
  });

  it('tuneV8ForExploration takes effect: V8 weighs no allocation site for pretenuring after it (and does without it)', () => {
    // One allocation site whose objects survive scavenges: V8 pretenures it unless the flag is off.
    const child = (tune: boolean) =>
      spawnSync(
        process.execPath,
        [
          '--trace-pretenuring-statistics',
          '--import',
          'tsx',
          '-e',
          `${tune ? "(await import('./workers/v8flags.ts')).tuneV8ForExploration();" : ''}
           function make(i) { return { i, next: null }; }
           let keep = [];
           for (let r = 0; r < 20; r++) { for (let i = 0; i < 100000; i++) keep.push(make(i)); if (keep.length > 600000) keep = keep.slice(300000); }`,
        ],
        { cwd: ROOT, encoding: 'utf8' },
      ).stdout;
    expect(child(false)).toMatch(/pretenuring: AllocationSite/);
    expect(child(true)).not.toMatch(/pretenuring/);
  });
});
