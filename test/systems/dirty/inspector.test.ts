/**
 * A `dirty` repro in the offline inspector, in headless chromium (Debian's, driven by
 * playwright-core, which never downloads a browser; CHROMIUM_PATH overrides /usr/bin/chromium).
 * The repro comes from the CLI (`explore dirty --bug ...`), its full trace from `replay --trace`,
 * which carries the shared state's views (page table, TLB, areas, user bitmaps) at every step.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FullTrace } from '../../../core/fullTrace.ts';
import { cli } from '../../helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MISSING = `chromium not found at ${CHROMIUM}: install Debian's (apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH; this test never downloads a browser`;

let dir: string;
let summary: { firstViolation: { monitor: string; message: string; step: number; repro: string; inspector: string } };
let trace: FullTrace;
let browser: Browser;
let page: Page;
const errors: string[] = [];
const requests: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pagerace-dirty-'));
  const ex = cli(['explore', 'dirty', '--bug', 'no-iotlb-sync-after-clear', '--runs', '50', '--out', dir, '--json']);
  if (ex.status !== 1) throw new Error(`explore found nothing: ${ex.stderr}`);
  summary = JSON.parse(ex.stdout);
  const tracePath = join(dir, 'trace.jsonl');
  const rep = cli(['replay', summary.firstViolation.repro, '--trace', tracePath]);
  if (rep.status !== 1) throw new Error(`replay did not reproduce: ${rep.stderr}`);
  const lines = readFileSync(tracePath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  trace = { header: lines[0].header, steps: lines.slice(1, -1), end: lines.at(-1).end };
  if (!existsSync(CHROMIUM)) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(pathToFileURL(summary.firstViolation.inspector).href);
});

afterAll(async () => {
  await browser?.close();
});

describe('a dirty repro', () => {
  it('replays to the monitor the exploration found, and its trace carries the page table and TLB at each step', () => {
    expect(trace.end.violation?.monitor).toBe('dirty-tlb-after-clear');
    expect(trace.end.violation?.message).toBe(summary.firstViolation.message);
    const last = trace.steps.at(-1)!;
    const shared = last.shared as Record<string, { tables?: Record<string, { e: string[] }> }>;
    expect(Object.keys(shared)).toEqual(['dirty.pgtable', 'dirty.tlb', 'dirty.iopt', 'dirty.ubuf']);
    expect(shared['dirty.pgtable'].tables!.T0.e.length).toBe(4);
    expect(JSON.stringify(shared['dirty.tlb'])).toMatch(/"dirty":true/);
  });
});

describe('the dirty inspector in chromium', () => {
  it('shows every dirty machine, and marks the violation with its monitor and message', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING);
    const actors = await page.$$eval('figure.chart', (fs) => fs.map((f) => (f as HTMLElement).dataset.actor));
    expect(actors).toEqual(expect.arrayContaining(['vmm', 'hotplug', 'dev']));
    const banner = await page.textContent('[data-testid=violation]');
    expect(banner).toContain('dirty-tlb-after-clear');
    expect(banner).toContain(summary.firstViolation.message);
  });

  it('goes to the violation step and lights the stepping actor', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING);
    await page.click('[data-testid=goto-violation]');
    const k = Math.min(trace.end.violation!.step, trace.steps.length - 1);
    expect(await page.evaluate(() => Number(document.body.dataset.step))).toBe(k);
    expect(await page.textContent('[data-testid=step-detail]')).toContain('dirty-tlb-after-clear');
    const s = trace.steps[k];
    const lit = await page.$$eval(`figure[data-actor="${s.actor}"] g.node.lit text`, (ts) => ts.map((t) => t.textContent));
    expect(lit).toEqual([s.after]);
  });

  it("shows the VMM's context (its GET's walk and bitmap) at the step", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING);
    await page.selectOption('[data-testid=context-actor]', 'vmm');
    expect(await page.textContent('[data-testid=context-view]')).toContain('phase');
  });

  it('made no network request and raised no script error', () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING);
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) expect(r.startsWith('file:') || r.startsWith('data:'), r).toBe(true);
    expect(errors).toEqual([]);
  });
});
