/**
 * A vfio-scope repro in the HTML inspector, in Debian's chromium (playwright-core, which never
 * downloads a browser; CHROMIUM_PATH overrides /usr/bin/chromium). The repro comes from the CLI
 * (`explore vfio-scope --bug detach-loses-dirty`), its full trace from `replay --trace`.
 * A missing chromium fails the test with a message saying so; it is never skipped.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FullTrace } from '../../../core/fullTrace.ts';
import { cli } from '../../helpers.ts';
import { statesAt } from '../../inspect/fixture.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let browser: Browser;
let page: Page;
let trace: FullTrace;
let summary: { firstViolation: { monitor: string; message: string; step: number; repro: string; inspector: string } };
const errors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  const dir = mkdtempSync(join(tmpdir(), 'pagerace-vfio-'));
  const ex = cli(['explore', 'vfio-scope', '--bug', 'detach-loses-dirty', '--runs', '300', '--out', dir, '--json']);
  if (ex.status !== 1) throw new Error(`explore found nothing: ${ex.stderr}`);
  summary = JSON.parse(ex.stdout);
  const tracePath = join(dir, 'trace.jsonl');
  const rep = cli(['replay', summary.firstViolation.repro, '--trace', tracePath]);
  if (rep.status !== 1) throw new Error(`replay did not reproduce: ${rep.stderr}`);
  const lines = readFileSync(tracePath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  trace = { header: lines[0].header, steps: lines.slice(1, -1), end: lines.at(-1).end };
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(pathToFileURL(summary.firstViolation.inspector).href);
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

function needChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(`chromium not found at ${CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH; this test never downloads a browser`);
}

describe('a vfio-scope repro in the inspector', () => {
  it('shows a statechart per thread (vmm, mig, the devices) in its state at the start', async () => {
    needChromium();
    const actors = await page.$$eval('figure.chart', (fs) => fs.map((f) => (f as HTMLElement).dataset.actor));
    expect(actors).toEqual(expect.arrayContaining(['vmm', 'mig', 'pdev0', 'mdev0']));
    const want = statesAt(trace, -1);
    for (const a of actors) expect(await page.getAttribute(`figure.chart[data-actor="${a}"]`, 'data-state')).toBe(want[a!]);
  });

  it('marks the detach-populates-full violation and goes to its step, where the vmm has just detached g0', async () => {
    needChromium();
    const banner = await page.textContent('[data-testid=violation]');
    expect(banner).toContain('detach-populates-full');
    expect(banner).toContain("dma d0's bitmap");
    await page.click('[data-testid=goto-violation]');
    const k = Number(await page.evaluate(() => document.body.dataset.step));
    expect(k).toBe(Math.min(summary.firstViolation.step, trace.steps.length - 1));
    expect(trace.steps[k].step).toMatch(/^vmm\.STEP\[idle:detach g0\]/);
    expect(await page.textContent('[data-testid=step-detail]')).toContain('detach-populates-full');
  });

  it('shows the iommu->lock holder of the step and the stepping thread\'s context (its script and locks)', async () => {
    needChromium();
    expect(await page.textContent('[data-testid=locks]')).toMatch(/held after step \d+/);
    await page.click('figure[data-actor="vmm"]');
    expect(await page.inputValue('[data-testid=context-actor]')).toBe('vmm');
    expect(await page.textContent('[data-testid=context-view]')).toMatch(/held/);
  });

  it('raised no script error', () => {
    needChromium();
    expect(errors).toEqual([]);
  });
});
