/**
 * A repro of an iommufd-flush variant through the CLI (explore, replay --trace) and its offline
 * HTML inspector in headless chromium (as test/inspect/browser.test.ts does for IOPF): the
 * machines' charts with the state lit at each step, the violation marked, and the shared state
 * (areas, iopt_pages, domains, page frames with their cache lines) in every step of the full trace.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MISSING = `chromium not found at ${CHROMIUM}: install Debian's (apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH; this test never downloads a browser`;

interface Line {
  i: number;
  actor: string;
  after: string;
  shared?: Record<string, Record<string, unknown>>;
}

let browser: Browser;
let page: Page;
let html: string;
let steps: Line[];
let header: { actors: Record<string, { value: string }>; shared?: Record<string, unknown> };
let end: { violation: { monitor: string; message: string; step: number } };
const requests: string[] = [];
const errors: string[] = [];

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'pagerace-iff-'));
  const ex = cli(['explore', 'iommufd-flush', '--bug', 'batch-carry-end', '--runs', '50', '--out', dir, '--json']);
  if (ex.status !== 1) throw new Error(`explore found nothing: ${ex.stderr}`);
  const summary = JSON.parse(ex.stdout);
  html = summary.firstViolation.inspector;
  const tracePath = join(dir, 'trace.jsonl');
  const rep = cli(['replay', summary.firstViolation.repro, '--trace', tracePath]);
  if (rep.status !== 1) throw new Error(`replay did not reproduce: ${rep.stderr}`);
  const lines = readFileSync(tracePath, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  header = lines[0].header;
  steps = lines.slice(1, -1);
  end = lines.at(-1).end;
  if (!existsSync(CHROMIUM)) return;
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(pathToFileURL(html).href);
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

function needChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(MISSING);
}

/** Each actor's state after position k (-1: the start). */
function statesAt(k: number): Record<string, string> {
  const out = Object.fromEntries(Object.entries(header.actors).map(([id, a]) => [id, a.value]));
  for (const s of steps.slice(0, k + 1)) out[s.actor] = s.after;
  return out;
}

describe('the iommufd-flush inspector in chromium', () => {
  it('the full trace carries the shared state at every step: areas, iopt_pages, domains, page frames and cache lines', () => {
    expect(end.violation.monitor).toBe('pin-balance');
    const at = steps[Math.min(end.violation.step, steps.length - 1)];
    const iommufd = at.shared!.iommufd as { policy: string; ioas: Record<string, { areas: unknown[] }>; pages: Record<string, unknown>; phys: Record<string, { pin: number; line: unknown }> };
    expect(iommufd.policy).toBe('per-fill');
    expect(Object.keys(iommufd.phys)).toEqual(['100', '101', '102', '200']);
    expect(iommufd.ioas['0'].areas.length).toBe(1);
    expect(at.shared!['cpu-cache']).toHaveProperty('pages');
    expect(steps.every((s) => s.shared?.iommufd && s.shared['cpu-cache'])).toBe(true);
  });

  it('opens with every actor chart in its initial state', async () => {
    needChromium();
    const shown = await page.$$eval('figure.chart', (figs) => figs.map((f) => [(f as HTMLElement).dataset.actor!, (f as HTMLElement).dataset.state!]));
    expect(shown.map(([a]) => a).sort()).toEqual(Object.keys(header.actors).sort());
    for (const [a, s] of shown) expect(s, a).toBe(header.actors[a].value);
  });

  it('marks the violation and goes to its step, with each chart in the state the trace says', async () => {
    needChromium();
    const banner = await page.textContent('[data-testid=violation]');
    expect(banner).toContain('pin-balance');
    expect(banner).toContain(end.violation.message);
    await page.click('[data-testid=goto-violation]');
    const k = Math.min(end.violation.step, steps.length - 1);
    expect(await page.evaluate(() => Number(document.body.dataset.step))).toBe(k);
    const want = statesAt(k);
    const shown = await page.$$eval('figure.chart', (figs) => figs.map((f) => [(f as HTMLElement).dataset.actor!, (f as HTMLElement).dataset.state!]));
    for (const [a, s] of shown) expect(s, a).toBe(want[a]);
    // The vmm's chart lights its leaf state (a nested state of the detach path).
    const leaf = Object.values(JSON.parse(want.vmm0) as Record<string, string>)[0];
    expect(JSON.parse(want.vmm0)).toHaveProperty('detach');
    expect(await page.$$eval('figure[data-actor="vmm0"] g.node.lit text', (ts) => ts.map((t) => t.textContent))).toContain(leaf);
    expect(await page.textContent('[data-testid=step-detail]')).toContain('pin-balance');
  });

  it('shows the locks held at the step (pages->mutex, the rwsems)', async () => {
    needChromium();
    expect(await page.textContent('[data-testid=locks]')).toMatch(/P0\.mutex/);
  });

  it('made no network request and raised no script error', () => {
    needChromium();
    for (const r of requests) expect(r === pathToFileURL(html).href || r.startsWith('data:'), r).toBe(true);
    expect(errors).toEqual([]);
  });
});
