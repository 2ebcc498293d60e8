/**
 * The library API from the sources (the packed-tarball test runs it installed): explore() is the
 * object `explore --json` prints; replay(), list(), scenarios, defineScenario; pagerace/vitest.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PageraceError, defineScenario, explore, list, replay, scenarios } from 'pagerace';
import { expectClean, expectFinds } from 'pagerace/vitest';
import refcount from '../../examples/refcount/scenario.ts';
import { cli } from '../helpers.ts';

const withoutTiming = (o: Record<string, unknown>) => ({ ...o, runsPerSecond: 0 });

describe('library API', () => {
  it('explore() resolves to the object explore --json prints (runs/s aside)', async () => {
    const lib = await explore({ scenario: 'iopf', runs: 20, seed: 1 });
    const json = JSON.parse(cli(['explore', 'iopf', '--runs', '20', '--seed', '1', '--json']).stdout);
    expect(withoutTiming(lib)).toEqual(withoutTiming(json));
  });

  it('explore() with a variant, parameters and files: the repro replays with replay()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-lib-'));
    const r = await explore({ scenario: 'iopf', bug: 'response-after-removal', runs: 300, params: { prqDepth: 4 }, out: dir });
    expect(r.firstViolation?.repro).toMatch(/^.*iopf-response-after-removal-random-s1-r\d+\.json$/);
    const again = await replay(r.firstViolation!.repro!);
    expect(again.violation?.monitor).toBe(r.firstViolation!.monitor);
  });

  it('bad input throws a PageraceError with the one line the CLI prints', async () => {
    await expect(explore({ scenario: 'nope' })).rejects.toThrow(PageraceError);
    await expect(explore({ scenario: 'iopf', params: { prqDepth: 0 } })).rejects.toThrow(/prqDepth: "0" is not allowed; a whole number from 1 to 4096/);
    await expect(explore({ scenario: 'iopf', runs: -1 })).rejects.toThrow(/runs must be a whole number/);
    await expect(explore({ scenario: refcount, workers: 2 })).rejects.toThrow(/workers > 1 needs the scenario by name or module path/);
  });

  it('list() is list --json; scenarios has the built-ins', () => {
    expect(list()).toEqual(JSON.parse(cli(['list', '--json']).stdout));
    expect(Object.keys(scenarios)).toContain('iopf');
  });

  it('defineScenario names the first problem in a declaration', () => {
    const base = { name: 'x', parameters: [], build: () => ({ actors: [], locks: [] }) };
    expect(() => defineScenario(base)).not.toThrow();
    expect(() => defineScenario({ ...base, name: 'X Y' })).toThrow(/scenario: name: "X Y" is not allowed; lower-case letters/);
    expect(() => defineScenario({ ...base, parameters: [{ name: 'n', description: '', type: 'int', default: 9, min: 0, max: 3 }] })).toThrow(/parameters\[0\]\.default: 9 is not allowed; a whole number from 0 to 3/);
    expect(() => defineScenario({ ...base, bugs: [{ name: 'b', summary: '', reference: '', caughtBy: ['nobody'] }] })).toThrow(/bugs\[0\]\.caughtBy\[0\]: "nobody" is not allowed; one of the scenario's monitors: none declared/);
  });
});

describe('pagerace/vitest and an own system (examples/refcount)', () => {
  it('expectClean passes on the model, by object and by module path', async () => {
    await expectClean({ scenario: refcount, runs: 300 });
    await expectClean({ scenario: './examples/refcount/scenario.ts', runs: 300, workers: 2 });
  });

  it('expectFinds finds the variant; expectClean fails on it with the violation', async () => {
    const r = await expectFinds('get-after-unlock', { scenario: refcount, runs: 500 });
    expect(r.firstViolation!.monitor).toBe('no-use-after-free');
    await expect(expectClean({ scenario: refcount, bug: 'get-after-unlock', runs: 500 })).rejects.toThrow(/expected no violation .* but no-use-after-free failed in run \d+/);
    await expect(expectFinds('get-after-unlock', { scenario: refcount, runs: 500, monitor: 'freed-at-end' })).rejects.toThrow(/to be caught by freed-at-end, but no-use-after-free failed first/);
  });
});
