/**
 * The inspector on a tce repro, in a real browser (Debian's chromium through playwright-core; it
 * never downloads one; CHROMIUM_PATH overrides /usr/bin/chromium; a missing chromium fails).
 * explore finds and shrinks tce-level-alloc-race through the CLI, replay writes the full trace,
 * and the page walks to the violation: the banner names the monitor, the step shows it, every
 * tce actor has its chart. The trace carries the TCE table and cache at each step.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { cli } from '../../helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('tce inspector', () => {
  it('a tce-level-alloc-race repro: replays to the same monitor, and the inspector goes to the violation', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium, or set CHROMIUM_PATH`);
    const dir = mkdtempSync(join(tmpdir(), 'pagerace-tce-'));
    const ex = cli(['explore', 'tce', '--bug', 'tce-level-alloc-race', '--runs', '150', '--out', dir, '--json']);
    expect(ex.status, ex.stderr).toBe(1);
    const v = JSON.parse(ex.stdout).firstViolation as { monitor: string; message: string; repro: string; inspector: string };
    expect(v.monitor).toBe('one-level-page-per-slot');
    const tracePath = join(dir, 'trace.jsonl');
    const rep = cli(['replay', v.repro, '--trace', tracePath]);
    expect(rep.status, rep.stderr).toBe(1);
    const lines = readFileSync(tracePath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const end = lines.at(-1).end as { violation: { monitor: string; message: string; step: number } };
    expect(end.violation.monitor).toBe(v.monitor);
    expect(end.violation.message).toBe(v.message);
    // The shared state at the violating step: the table whose slot was overwritten and the cache.
    const last = lines.at(-2) as { shared?: Record<string, unknown> };
    expect(Object.keys(last.shared ?? {})).toEqual(expect.arrayContaining(['tce.tables', 'tce.cache']));

    const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
    try {
      const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(v.inspector).href);
      const banner = await page.textContent('[data-testid=violation]');
      expect(banner).toContain(v.monitor);
      expect(banner).toContain(v.message);
      await page.click('[data-testid=goto-violation]');
      expect(await page.evaluate(() => Number(document.body.dataset.step))).toBe(Math.min(end.violation.step, lines.length - 3));
      expect(await page.textContent('[data-testid=step-detail]')).toContain(v.monitor);
      const charts = await page.$$eval('figure.chart', (fs) => fs.map((f) => (f as HTMLElement).dataset.actor));
      expect(charts).toEqual(expect.arrayContaining(['tce.user0', 'tce.dma0', 'tce.rcu']));
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
