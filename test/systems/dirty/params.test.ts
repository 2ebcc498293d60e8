/**
 * The `dirty` design alternatives as parameters, through the real command: `pagerace list --json`
 * shows them with their allowed values; each allowed value of split and bbml is accepted; a bad
 * value is one line naming the parameter and what is allowed, exit 2, no stack trace.
 */
import { describe, expect, it } from 'vitest';
import { cli } from '../../helpers.ts';

describe('dirty parameters (pagerace CLI)', () => {
  it('list --json shows the scenario with split=none|recursive|straight and bbml=0..2, its variants and monitors', () => {
    const r = cli(['list', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const dirty = JSON.parse(r.stdout).scenarios.find((s: { name: string }) => s.name === 'dirty');
    expect(dirty.parameters.split).toMatchObject({ default: 'none', allowed: 'one of none, recursive, straight' });
    expect(dirty.parameters.bbml).toMatchObject({ default: 1, allowed: 'a whole number from 0 to 2' });
    expect(dirty.bugs.length).toBeGreaterThanOrEqual(9);
    expect(dirty.monitors.map((m: { name: string }) => m.name)).toContain('split-atomic-translation');
  });

  it('accepts the alternatives (split=straight bbml=0 and split=recursive bbml=2 run clean)', () => {
    for (const sets of [['split=straight', 'bbml=0'], ['split=recursive', 'bbml=2', 'flush=perBlock']]) {
      const r = cli(['explore', 'dirty', '--runs', '2', '--json', ...sets.flatMap((s) => ['--set', s])]);
      expect(r.status, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).violations).toBe(0);
    }
  });

  for (const [set, pattern] of [
    ['split=half', /^pagerace: --set split: "half" is not allowed; one of none, recursive, straight$/],
    ['bbml=3', /^pagerace: --set bbml: "3" is not allowed; a whole number from 0 to 2$/],
  ] as const) {
    it(`rejects --set ${set}: one line, exit 2, no stack trace`, () => {
      const r = cli(['explore', 'dirty', '--runs', '1', '--set', set]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr.trim()).toMatch(pattern);
    });
  }
});
