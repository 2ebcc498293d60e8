/**
 * The exploration's V8 flags: the command-line ones are given by every way the README starts
 * pagerace (the bin's shebang, npm start, npm run bench), so the bench measures what users run.
 */
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
});
