/**
 * The inspector page: one HTML file with its style, script, charts and data inline. Nothing is
 * loaded from anywhere (no CDN, no fonts, no images; even the favicon is an empty data: URL).
 * Elements the tests drive carry `data-testid`.
 */
import { readFileSync } from 'node:fs';
import type { ActorChart, InspectorData } from './build.ts';
import { escapeHtml, scriptJson } from './escape.ts';

const asset = (name: string) => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');

export function inspectorPage(data: InspectorData, charts: ActorChart[]): string {
  const e = escapeHtml;
  const v = data.end.violation;
  const steps = data.steps.length;
  const violation = v
    ? `<section class="violation" data-testid="violation" data-monitor="${e(v.monitor)}" data-step="${v.step}">
  <div class="v-head"><span class="v-badge">VIOLATION</span> <strong class="v-monitor">${e(v.monitor)}</strong>
  <span class="v-where">${v.step >= steps ? `at quiescence (after step ${steps - 1})` : `at step ${v.step}`}</span>
  <button type="button" data-testid="goto-violation" id="goto-violation">go to step</button></div>
  <div class="v-message">${e(v.message)}</div>
  <div class="v-refs">actors: ${e(v.actors.join(', ') || '-')}; messages: ${e(v.messages.map((m) => `#${m}`).join(', ') || '-')}</div>
</section>`
    : `<section class="violation none" data-testid="violation" data-monitor="">no violation in this trace</section>`;
  const chartPanels = charts
    .map(
      (c) => `<figure class="chart" data-testid="chart-${e(c.actor)}" data-actor="${e(c.actor)}" data-state="">
  <figcaption><span class="c-actor">${e(c.actor)}</span> <span class="c-kind">${e(c.machine)}</span><span class="c-state" data-role="state"></span></figcaption>
  <div class="c-svg">${c.svg}</div>
</figure>`,
    )
    .join('\n');
  const filters = data.actors
    .map((a) => `<label class="chip"><input type="checkbox" checked data-actor="${e(a.id)}"> ${e(a.id)}</label>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<link rel="icon" href="data:,">
<title>pagerace inspector: ${e(data.title)}</title>
<style>
${asset('style.css')}
</style>
</head>
<body>
<header class="top">
  <h1>pagerace inspector <span class="t-title">${e(data.title)}</span></h1>
  <div class="t-meta">${e(data.source)} · ${steps} steps · trace ${e(data.end.traceHash.slice(0, 16))}</div>
</header>
${violation}
<nav class="controls" data-testid="controls">
  <button type="button" id="prev" data-testid="prev" title="previous step (←)">◀ prev</button>
  <div class="slider-wrap">
    <input type="range" id="slider" data-testid="slider" min="-1" max="${steps - 1}" step="1" value="-1" aria-label="step">
    <div class="slider-marks" id="slider-marks"></div>
  </div>
  <button type="button" id="next" data-testid="next" title="next step (→)">next ▶</button>
  <span class="step-label" id="step-label" data-testid="step-label"></span>
  <div class="step-summary" id="step-summary" data-testid="step-summary"></div>
</nav>
<div class="filter" data-testid="filter"><span class="f-title">actors</span>${filters}
  <button type="button" id="filter-all">all</button><button type="button" id="filter-violation">violation's</button></div>
<main class="layout">
  <section class="charts" data-testid="charts">
${chartPanels}
  </section>
  <aside class="side">
    <section class="panel" data-testid="step-detail"><h2>step</h2><div id="step-detail"></div></section>
    <section class="panel" data-testid="locks"><h2>locks</h2><div id="locks"></div></section>
    <section class="panel" data-testid="context"><h2>context of <select id="context-actor" data-testid="context-actor">${data.actors
      .map((a) => `<option value="${e(a.id)}">${e(a.id)}</option>`)
      .join('')}</select> <span class="ctx-when" id="ctx-when"></span></h2><pre id="context-view" data-testid="context-view"></pre></section>
  </aside>
</main>
<section class="msc-panel">
  <h2>messages <span class="hint">one lane per actor; arrows go from the step that sent a message to the step that delivered it</span></h2>
  <div class="msc-scroll" id="msc-scroll" data-testid="msc">
    <div class="msc-head" id="msc-head"></div>
    <div id="msc-body"></div>
  </div>
</section>
<script type="application/json" id="pagerace-data">${scriptJson(data)}</script>
<script>
${asset('client.js')}
</script>
</body>
</html>
`;
}
