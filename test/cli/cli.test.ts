import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'pagerace-cli-'));

function expectUsage(args: string[], pattern: RegExp) {
  const r = cli(args);
  expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^pagerace: /);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\s+at .+:\d+:\d+/); // no stack trace
}

describe('pagerace list', () => {
  it('--json lists scenarios with parameters, bugs and monitors', () => {
    const r = cli(['list', '--json']);
    expect(r.status).toBe(0);
    const o = JSON.parse(r.stdout);
    const iopf = o.scenarios.find((s: { name: string }) => s.name === 'iopf');
    expect(iopf.description).toBeTruthy();
    expect(iopf.parameters.prqDepth.default).toBe(4);
    expect(iopf.bugs.length).toBeGreaterThanOrEqual(4);
    for (const b of iopf.bugs) expect(Object.keys(b).sort()).toEqual(['name', 'reference', 'summary']);
    expect(iopf.monitors.map((m: { name: string }) => m.name)).toContain('one-response-per-last-page');
  });
});

describe('pagerace explore and replay', () => {
  it('finds a variant, writes a repro, prints the replay command, and replay reproduces it', () => {
    const dir = tmp();
    const r = cli(['explore', 'iopf', '--runs', '300', '--bug', 'response-after-removal', '--out', dir, '--json']);
    expect(r.status).toBe(1);
    const o = JSON.parse(r.stdout);
    expect(Object.keys(o).slice(0, 8)).toEqual(['scenario', 'runs', 'steps', 'violations', 'runsPerSecond', 'digest', 'metrics', 'firstViolation']);
    expect(o.firstViolation.monitor).toBe('one-response-per-last-page');
    expect(r.stderr).toContain(`npx pagerace replay`);
    const repro = JSON.parse(readFileSync(o.firstViolation.repro, 'utf8'));
    expect(repro).toMatchObject({ format: 'pagerace-repro', version: 1, scenario: 'iopf', bug: 'response-after-removal' });

    const trace = join(dir, 'trace.jsonl');
    const rep = cli(['replay', o.firstViolation.repro, '--trace', trace, '--json']);
    expect(rep.status).toBe(1);
    const ro = JSON.parse(rep.stdout);
    expect(ro.violation).toEqual({ monitor: o.firstViolation.monitor, message: o.firstViolation.message, step: o.firstViolation.step });
    const lines = readFileSync(trace, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0].header.scenario).toBe('iopf');
    expect(lines.filter((l) => 'step' in l)).toHaveLength(ro.steps);
    expect(lines.at(-1).end.traceHash).toBe(ro.traceHash);
  });

  it('exits 0 on a clean exploration', () => {
    const r = cli(['explore', 'iopf', '--runs', '50', '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).firstViolation).toBeNull();
  });

  it('reports a schedule the model no longer fits: step and expectation, exit 2', () => {
    const dir = tmp();
    const o = JSON.parse(cli(['explore', 'iopf', '--runs', '300', '--bug', 'response-missing-pasid', '--out', dir, '--json']).stdout);
    const repro = JSON.parse(readFileSync(o.firstViolation.repro, 'utf8'));
    repro.schedule.choices[2] = 'dev9.ISSUE';
    const f = join(dir, 'diverged.json');
    writeFileSync(f, JSON.stringify(repro));
    const r = cli(['replay', f]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/diverged at step 2: the schedule chose "dev9.ISSUE"/);
  });
});

describe('bad input: one line, exit 2, no stack trace', () => {
  const dir = tmp();
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };
  const cases: [string[], RegExp][] = [
    [['explore', 'nope'], /unknown scenario "nope"; scenarios: iopf/],
    [['explore', 'iopf', '--bug', 'nope'], /unknown bug "nope".*bugs: partial-leak-on-alloc-failure/],
    [['explore', 'iopf', '--set', 'nope=1'], /unknown parameter "nope".*parameters: devices/],
    [['explore', 'iopf', '--set', 'prqDepth=0'], /prqDepth: "0" is not allowed; a whole number from 1 to 4096/],
    [['explore', 'iopf', '--set', 'grouping=tree'], /one of list, map/],
    [['explore', 'iopf', '--set', 'devices'], /--set takes key=value/],
    [['explore', 'iopf', '--runs', '-5'], /--runs must be a whole number >= 0/],
    [['explore', 'iopf', '--runs', 'many'], /--runs must be a whole number/],
    [['explore', 'iopf', '--strategy', 'wat'], /--strategy must be one of random, pct, delay, dfs, got "wat"/],
    [['explore', 'iopf', '--depth', '0'], /--depth must be a whole number >= 1/],
    [['explore', 'iopf', '--seed', '-1'], /--seed must be a whole number/],
    [['explore', 'iopf', '--max-steps', '0'], /--max-steps/],
    [['explore', 'iopf', '--wat'], /unknown option '--wat'/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['replay', join(dir, 'missing.json')], /cannot read repro file .*no such file/],
    [['replay', write('malformed.json', '{"format": ')], /is not valid JSON/],
    [['replay', write('other.json', '{"hello": 1}')], /not a repro file/],
    [['replay', write('v9.json', JSON.stringify({ format: 'pagerace-repro', version: 9 }))], /repro version 9 is not supported; this pagerace reads version 1/],
    [['replay', write('nosched.json', JSON.stringify({ format: 'pagerace-repro', version: 1, scenario: 'iopf', parameters: {}, bug: null, strategy: 'random', seed: 1, maxSteps: 10 }))], /"schedule" is missing/],
  ];
  for (const [args, pattern] of cases) {
    it(`${args.join(' ')}`, () => expectUsage(args, pattern));
  }
});
