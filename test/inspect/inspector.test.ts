import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers.ts';
import { type Fixture, hashWithoutContexts, makeFixture } from './fixture.ts';

let fx: Fixture;
beforeAll(() => {
  fx = makeFixture();
});

describe('explore writes an inspector beside the repro', () => {
  it('same basename, .html; printed on stderr and in --json without changing the top-level keys', () => {
    expect(Object.keys(fx.summary).slice(0, 8)).toEqual(['scenario', 'runs', 'steps', 'violations', 'runsPerSecond', 'digest', 'metrics', 'firstViolation']);
    expect(fx.html).toBe(fx.repro.replace(/\.json$/, '.html'));
    expect(dirname(fx.html)).toBe(fx.dir);
    expect(existsSync(fx.html)).toBe(true);
    expect(fx.explore.stderr).toContain(`  inspector: ${fx.html}\n`);
  });
});

describe('the full trace (replay --trace)', () => {
  it('has every actor in the header: kind, machine, start state and context', () => {
    const actors = fx.trace.header.actors;
    expect(Object.keys(actors)).toEqual(['dev0', 'dev1', 'iommu', 'iopf.dev0', 'drv.dev0', 'iopf.dev1', 'drv.dev1', 'wq', 'kworker0', 'kworker1', 'iommufd', 'vmm', 'proc']);
    expect(actors['iopf.dev0']).toMatchObject({ kind: 'iopf.faultParam', machine: 'iopf.faultParam', value: 'idle' });
    expect(actors['iopf.dev0'].context).toMatchObject({ dev: 'dev0', users: 1, partial: [] });
    expect(actors.proc).toMatchObject({ kind: 'iopf.process', machine: 'iopf.process', value: 'thinking' });
    for (const s of fx.trace.steps) expect(s.context, `step ${s.i}`).toBeDefined();
  });

  it('keeps the hashed step lines: without contexts they hash to the trace hash', () => {
    expect(hashWithoutContexts(fx.tracePath)).toBe(fx.trace.end.traceHash);
  });
});

describe('pagerace inspect', () => {
  it('gives the same page for a repro and for its trace, every time (no timestamps)', () => {
    const a = join(fx.dir, 'a.html');
    const b = join(fx.dir, 'b.html');
    const fromRepro = cli(['inspect', fx.repro, '--out', a]);
    expect(fromRepro.status, fromRepro.stderr).toBe(0);
    expect(fromRepro.stderr.trim()).toBe(`inspector: ${a}`);
    expect(readFileSync(a, 'utf8')).toBe(readFileSync(fx.html, 'utf8'));
    const fromTrace = cli(['inspect', fx.tracePath, '--out', b]);
    expect(fromTrace.status, fromTrace.stderr).toBe(0);
    const norm = (f: string, source: string) => readFileSync(f, 'utf8').split(source).join('SOURCE');
    expect(norm(b, fx.tracePath)).toBe(norm(a, fx.repro));
  });

  it('writes beside the input when --out is not given', () => {
    const copy = join(fx.dir, 'copy.jsonl');
    writeFileSync(copy, readFileSync(fx.tracePath));
    const r = cli(['inspect', copy]);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(fx.dir, 'copy.html'))).toBe(true);
  });

  it('is self-contained: scripts, styles, charts and data inline, nothing to fetch', () => {
    const html = readFileSync(fx.html, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+rel="?stylesheet/i);
    expect(html).not.toMatch(/@import|@font-face|url\(\s*['"]?(https?:|\/\/)/i);
    expect(html).not.toMatch(/(src|href)=["']?(https?:|\/\/)/i);
    // The only http(s) strings are XML namespace names, which are never fetched.
    const urls = [...html.matchAll(/https?:\/\/[^\s"'<>)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg', 'http://www.w3.org/1999/xlink']));
    expect(html).toContain("default-src 'none'");
    // One statechart per actor, with its states addressable.
    for (const [id, a] of Object.entries(fx.trace.header.actors)) {
      expect(html).toContain(`data-testid="chart-${id}"`);
      expect(html).toContain(`id="${id}/${a.machine}.${a.value}"`);
    }
    expect(html).toContain(fx.summary.firstViolation.monitor);
    expect(basename(fx.html)).toMatch(/^iopf-response-after-removal-random-s1-r\d+\.html$/);
  });
});

describe('inspect: bad input is one line, exit 2, no stack trace', () => {
  const write = (name: string, text: string) => {
    const f = join(fx.dir, name);
    writeFileSync(f, text);
    return f;
  };
  const noActors = () => {
    const lines = readFileSync(fx.tracePath, 'utf8').trim().split('\n');
    const h = JSON.parse(lines[0]);
    delete h.header.actors;
    return write('old.jsonl', [JSON.stringify(h), ...lines.slice(1)].join('\n'));
  };
  const cases: [string, () => string[], RegExp][] = [
    ['missing file', () => ['inspect', join(fx.dir, 'missing.json')], /cannot read .*missing.json: no such file; give a repro file/],
    ['neither repro nor trace', () => ['inspect', write('text.txt', 'hello\nworld\n')], /is neither a repro file .* nor a trace/],
    ['JSON that is not a repro', () => ['inspect', write('other.json', '[1, 2]')], /is neither a repro file/],
    ['repro of another version', () => ['inspect', write('v9.json', JSON.stringify({ format: 'pagerace-repro', version: 9 }))], /repro version 9 is not supported/],
    ['trace cut short', () => ['inspect', write('cut.jsonl', readFileSync(fx.tracePath, 'utf8').split('\n').slice(0, 5).join('\n'))], /the last line is not a trace end/],
    ['trace without actors', () => ['inspect', noActors()], /the header lists no actors .*pagerace replay <repro> --trace <file>/],
    ['unwritable --out', () => ['inspect', fx.repro, '--out', '/nonexistent-dir/x.html'], /cannot write inspector file \/nonexistent-dir\/x.html: ENOENT/],
    ['missing argument', () => ['inspect'], /missing required argument 'file'/],
  ];
  for (const [name, args, pattern] of cases) {
    it(name, () => {
      const r = cli(args());
      expect(r.status, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^pagerace: /);
      expect(lines[0]).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\s+at .+:\d+:\d+/);
    });
  }
});
