/**
 * Progress on stderr: drawn on a terminal (a pseudo-terminal from util-linux's `script`), never
 * when stderr is piped, not with --quiet, without colour under NO_COLOR; stdout keeps only the result.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT } from '../helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'pagerace-progress-'));
const COLOR = /\x1b\[[0-9;]*m/;
const PROGRESS = /explore iopf(\x1b\[0m)?: \d+\/400 runs \(\d+%\), \d+ runs\/s, ETA (\d+s|--), \d+ violation/;

/** Run the CLI under a pseudo-terminal; what the terminal showed, and the exit code. */
function onTerminal(args: string, env: Record<string, string> = {}): { screen: string; status: number | null } {
  const r = spawnSync('script', ['-qfec', `${process.execPath} ${BIN} ${args}`, '/dev/null'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: '', ...env },
  });
  return { screen: r.stdout, status: r.status };
}

describe('progress', () => {
  it('shows runs done of the total, runs/s, ETA and violations on a terminal; stdout carries only the JSON', () => {
    const dir = tmp();
    const out = join(dir, 'out.json');
    const { screen, status } = onTerminal(`explore iopf --runs 400 --json > ${out}`);
    expect(status).toBe(0);
    expect(screen).toMatch(PROGRESS);
    expect(screen).toMatch(COLOR);
    // The line is erased before the summary.
    expect(screen).toMatch(/\r\x1b\[2K(\r\x1b\[2K)?pagerace explore iopf: 400 run\(s\)/);
    const json = readFileSync(out, 'utf8');
    expect(JSON.parse(json).runs).toBe(400);
    expect(json).not.toMatch(/runs\/s,|\x1b/);
  });

  it('NO_COLOR: the same progress without colour', () => {
    const { screen } = onTerminal('explore iopf --runs 400', { NO_COLOR: '1' });
    expect(screen).toMatch(PROGRESS);
    expect(screen).not.toMatch(COLOR);
  });

  it('--quiet: no progress on the terminal, the summary still', () => {
    const { screen } = onTerminal('explore iopf --runs 400 --quiet');
    expect(screen).not.toMatch(/runs\/s, ETA/);
    expect(screen).toMatch(/pagerace explore iopf: 400 run\(s\)/);
  });

  it('nothing of it when stderr is piped', () => {
    const r = spawnSync(process.execPath, [BIN, 'explore', 'iopf', '--runs', '400'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/runs\/s, ETA|\r|\x1b/);
    expect(r.stderr).toMatch(/^pagerace explore iopf: 400 run\(s\)/);
  });

  it('with workers: progress from the worker threads', () => {
    const { screen, status } = onTerminal('explore iopf --runs 400 --workers 2');
    expect(status).toBe(0);
    expect(screen).toMatch(PROGRESS);
  });
});
