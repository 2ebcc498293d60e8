/**
 * The README's commands, exactly as written: every `npx pagerace ...` line of its sh blocks (not
 * the synopsis lines with <placeholders>), in order, through a shell in the checkout, and its
 * library example as a module importing 'pagerace' (the package's own name, so the built files).
 * The tour's files must be where the next command looks for them.
 *
 * Not run here: the first block (`npm install && npm start`, `npm test`); test/lib/pack.test.ts
 * installs the package, and npm test is this suite.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers.ts';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = (lang: string) => [...readme.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
const commands = blocks('sh')
  .flatMap((b) => b.split('\n'))
  .filter((l) => l.startsWith('npx pagerace ') && !/[<[]/.test(l));

/** The commands run exactly as written: the tour, the own system, the IOPF workload example. */
const EXACT = ['repros/tour', './examples/refcount/', '--workload examples/'];

const sh = (line: string) => spawnSync('sh', ['-c', line], { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });

describe("the README's commands", () => {
  it('the tour comes first, and its files are named in the commands', () => {
    expect(commands.slice(0, 3)).toEqual([
      'npx pagerace explore iopf --bug response-after-removal --runs 2000 --repro repros/tour.json',
      'npx pagerace replay repros/tour.json --trace repros/tour.jsonl',
      'npx pagerace inspect repros/tour.json --out repros/tour.html',
    ]);
    expect(commands.length).toBeGreaterThanOrEqual(5);
    for (const f of ['tour.json', 'tour.jsonl', 'tour.html']) rmSync(join(ROOT, 'repros', f), { force: true });
  });

  // In order: the tour's replay and inspect use the file its explore wrote. The tour and the
  // sections on the library, own systems and workloads run exactly as written; the other systems'
  // sections (long explorations, for a reader's machine) run with at most 50 runs: the scenario,
  // variant and parameters they name must exist and the command must work.
  for (const line of commands) {
    const exact = EXACT.some((x) => line.includes(x));
    const bounded = line.replace(/\s+#.*$/, '');
    const cmd = exact ? line : /--runs \d+/.test(bounded) ? bounded.replace(/--runs \d+/, (m) => `--runs ${Math.min(50, Number(m.slice(7)))}`) : `${bounded} --runs 50`;
    it(exact ? line : `${cmd} (as written: ${line.replace(/\s+#.*$/, '')})`, () => {
      const r = sh(cmd);
      if (!exact) {
        // With fewer runs a variant may be missed: found (1) or not (0), never bad input.
        expect([0, 1], `${cmd}\n${r.stderr}`).toContain(r.status);
        expect(r.stderr, cmd).not.toMatch(/^pagerace: /m);
        return;
      }
      // A bug variant is found (1), and its repro replays to the violation (1); the rest is clean (0).
      const expected = /--bug |replay /.test(line) ? 1 : 0;
      expect(r.status, `${line}\n${r.stderr}`).toBe(expected);
      expect(r.stderr, line).not.toMatch(/^pagerace: /m);
      if (line.includes('--trace repros/tour.jsonl')) expect(readFileSync(join(ROOT, 'repros', 'tour.jsonl'), 'utf8')).toMatch(/^\{"header":/);
      if (line.includes('--out repros/tour.html')) expect(readFileSync(join(ROOT, 'repros', 'tour.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    }, 300_000);
  }

  it('the library example runs as a module importing pagerace', () => {
    const [lib] = blocks('js');
    expect(lib).toContain("from 'pagerace'");
    const dir = join(ROOT, '.scratch');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'readme-library.mjs');
    writeFileSync(file, `${lib}\nconsole.log(JSON.stringify({ report, found, again }));\n`);
    const r = spawnSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status, r.stderr).toBe(0);
    const { report, found, again } = JSON.parse(r.stdout);
    expect(report.runs).toBe(20);
    expect(existsSync(resolve(ROOT, found.firstViolation.repro))).toBe(true);
    expect(again.violation.monitor).toBe(found.firstViolation.monitor);
  }, 300_000);
});
