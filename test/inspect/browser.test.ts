/**
 * The inspector in a real browser: Debian's chromium, driven by playwright-core (which never
 * downloads a browser). CHROMIUM_PATH overrides /usr/bin/chromium. A missing chromium fails
 * this test with a message saying so; it is never skipped.
 */
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, makeFixture, statesAt } from './fixture.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let fx: Fixture;
let browser: Browser;
let page: Page;
let url: string;
const requests: string[] = [];
const errors: string[] = [];

const MISSING = `chromium not found at ${CHROMIUM}: install Debian's (apt-get install -y --no-install-recommends chromium) or set CHROMIUM_PATH; this test never downloads a browser`;

/** Each test fails (is not skipped) with a clear message when there is no chromium. */
function needChromium() {
  if (!existsSync(CHROMIUM)) throw new Error(MISSING);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  fx = makeFixture();
  url = pathToFileURL(fx.html).href;
  // launch() gives the browser a fresh, temporary user-data-dir of its own.
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(url);
});

afterAll(async () => {
  await browser?.close();
});

const position = () => page.evaluate(() => Number(document.body.dataset.step));

/** The page shows position k: every actor's state, the lit state names, the delivered message. */
async function expectPosition(k: number) {
  expect(await position()).toBe(k);
  const want = statesAt(fx.trace, k);
  const shown = await page.$$eval('figure.chart', (figs) =>
    figs.map((f) => ({
      actor: (f as HTMLElement).dataset.actor!,
      state: (f as HTMLElement).dataset.state!,
      lit: [...f.querySelectorAll('g.node.lit')].map((g) => g.querySelector('text')?.textContent),
    })),
  );
  for (const s of shown) {
    expect(s.state, `${s.actor} at ${k}`).toBe(want[s.actor]);
    expect(s.lit, `lit state of ${s.actor} at ${k}`).toEqual([want[s.actor]]);
  }
  const hot = await page.$$eval('[data-testid=msc] .msg.delivered-now', (gs) => gs.map((g) => Number((g as SVGElement).dataset.id)));
  const step = fx.trace.steps[k];
  expect(hot, `delivered message at ${k}`).toEqual(step && step.delivered != null ? [step.delivered] : []);
  if (step) expect(await page.textContent('[data-testid=step-label]')).toBe(`step ${k} / ${fx.trace.steps.length - 1}`);
}

describe('the inspector in chromium', () => {
  it('opens at the start with every actor in its initial state', async () => {
    needChromium();
    await expectPosition(-1);
    expect(await page.textContent('[data-testid=step-label]')).toMatch(/^start/);
    expect(await page.isDisabled('[data-testid=prev]')).toBe(true);
  });

  it('steps forward and back with the buttons and the arrow keys', async () => {
    needChromium();
    await page.click('[data-testid=next]');
    await expectPosition(0);
    await page.click('[data-testid=next]');
    await expectPosition(1);
    // Walk with the keyboard to the first step that delivers a message from another actor.
    const target = fx.trace.steps.findIndex((s, i) => i > 1 && s.delivered != null);
    for (let k = 2; k <= target; k++) await page.keyboard.press('ArrowRight');
    await expectPosition(target);
    expect(await page.textContent('[data-testid=step-summary]')).toContain(`#${fx.trace.steps[target].delivered} from`);
    await page.keyboard.press('ArrowLeft');
    await expectPosition(target - 1);
    await page.click('[data-testid=prev]');
    await expectPosition(target - 2);
    // The slider has focus after a click: arrows still move one step, not two.
    await page.click('[data-testid=slider]');
    const at = await position();
    await page.keyboard.press('ArrowRight');
    expect(await position()).toBe(at + 1);
    await expectPosition(at + 1);
  });

  it('marks the violation with the monitor name and message, and goes to its step', async () => {
    needChromium();
    const v = fx.trace.end.violation!;
    const banner = await page.textContent('[data-testid=violation]');
    expect(banner).toContain(v.monitor);
    expect(banner).toContain(v.message);
    await page.click('[data-testid=goto-violation]');
    const k = Math.min(v.step, fx.trace.steps.length - 1);
    await expectPosition(k);
    expect(await page.$$eval('[data-testid=msc] .row.current.violation-row', (r) => r.length)).toBe(1);
    expect(await page.textContent('[data-testid=step-detail]')).toContain(v.monitor);
    for (const id of v.messages) expect(await page.getAttribute(`#msg-${id}`, 'class')).toContain('culprit');
  });

  it('shows locks and the selected actor\'s latest context at the step', async () => {
    needChromium();
    expect(await page.textContent('[data-testid=locks]')).toMatch(/held after step \d+/);
    await page.click('figure[data-actor="iopf.dev0"]');
    expect(await page.inputValue('[data-testid=context-actor]')).toBe('iopf.dev0');
    const k = await position();
    const latest = [...fx.trace.steps.slice(0, k + 1)].reverse().find((s) => s.actor === 'iopf.dev0');
    const users = (latest?.context ?? fx.trace.header.actors['iopf.dev0'].context) as { users: number };
    expect(await page.textContent('[data-testid=context-view] [data-key=users]')).toBe(`users: ${users.users}\n`);
  });

  it('filters by actor: charts, lanes and messages of the others only', async () => {
    needChromium();
    await page.uncheck('[data-testid=filter] input[data-actor="proc"]');
    expect(await page.isHidden('[data-testid="chart-proc"]')).toBe(true);
    expect(await page.textContent('#msc-head')).not.toContain('proc');
    const ends = await page.$$eval('[data-testid=msc] .msg', (gs) => gs.flatMap((g) => [(g as SVGElement).dataset.from, (g as SVGElement).dataset.to]));
    expect(ends).not.toContain('proc');
    await page.click('#filter-all');
    expect(await page.isVisible('[data-testid="chart-proc"]')).toBe(true);
    expect(await page.textContent('#msc-head')).toContain('proc');
  });

  it('renders: a full-page screenshot is a real PNG', async () => {
    needChromium();
    const file = join(mkdtempSync(join(tmpdir(), 'pagerace-shot-')), 'inspector.png');
    await page.screenshot({ path: file, fullPage: true });
    const png = readFileSync(file);
    expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect(statSync(file).size).toBeGreaterThan(20_000);
  });

  it('made no network request and raised no script error', () => {
    needChromium();
    expect(requests.length).toBeGreaterThan(0);
    for (const r of requests) expect(r === url || r.startsWith('data:'), r).toBe(true);
    expect(errors).toEqual([]);
  });
});
