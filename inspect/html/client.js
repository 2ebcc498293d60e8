// pagerace inspector: the page's script. Reads the trace embedded as JSON and shows position k:
// k = -1 is the start (before any step), k = i is "after step i". Plain ES2020, no dependencies.
(() => {
  'use strict';
  const DATA = JSON.parse(document.getElementById('pagerace-data').textContent);
  const steps = DATA.steps;
  const N = steps.length;
  const actors = DATA.actors;
  const actorById = new Map(actors.map((a) => [a.id, a]));
  const violation = DATA.end.violation;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);

  // ---- indexes over the trace -------------------------------------------------------------
  /** Steps of each actor, ascending. */
  const stepsOf = new Map(actors.map((a) => [a.id, []]));
  /** Messages by id: envelope, the step that sent it, the step that delivered it (or null). */
  const messages = new Map();
  steps.forEach((s, i) => {
    stepsOf.get(s.actor).push(i);
    for (const env of s.sent || []) messages.set(env.id, { env, sent: i, delivered: null });
    if (s.delivered != null && messages.has(s.delivered)) messages.get(s.delivered).delivered = i;
  });
  const culprits = new Set(violation ? violation.messages : []);
  const violationStep = violation ? Math.min(violation.step, N - 1) : null;

  /** Index into stepsOf(actor) of its last step <= k, or -1. */
  function lastStepOf(actor, k) {
    const list = stepsOf.get(actor);
    let lo = 0;
    let hi = list.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid] <= k) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  function valueAt(actor, k) {
    const j = lastStepOf(actor, k);
    return j < 0 ? actorById.get(actor).value : steps[stepsOf.get(actor)[j]].after;
  }

  /** Latest context known at k, the one before it, and the step it comes from (-1: start). */
  function contextAt(actor, k) {
    const list = stepsOf.get(actor);
    const j = lastStepOf(actor, k);
    const ctxOf = (n) => (n < 0 ? actorById.get(actor).context : steps[list[n]].context);
    return { now: ctxOf(j), before: j < 0 ? undefined : ctxOf(j - 1), from: j < 0 ? -1 : list[j] };
  }

  /** Active state paths of a state value string ("idle" or JSON of a nested value). */
  function activePaths(value) {
    let v = value;
    if (value.startsWith('{')) {
      try {
        v = JSON.parse(value);
      } catch (_) {
        v = value;
      }
    }
    const out = [];
    const walk = (x, prefix) => {
      if (typeof x === 'string') {
        out.push(prefix ? `${prefix}.${x}` : x);
        return;
      }
      for (const key of Object.keys(x)) {
        const p = prefix ? `${prefix}.${key}` : key;
        out.push(p);
        walk(x[key], p);
      }
    };
    walk(v, '');
    return out;
  }

  const stateDomId = (a, path) => `${a.id}/${a.machine}${path ? `.${path}` : ''}`;

  /** Locks held after step k: lock -> [holder(mode)]. */
  function locksAt(k) {
    const held = new Map();
    for (let i = 0; i <= k; i++) {
      for (const op of steps[i].locks || []) {
        const holders = held.get(op.lock) || [];
        const who = `${op.by}${op.mode === 'read' ? ' (read)' : ''}`;
        if (op.op === 'acquire') holders.push(who);
        else holders.splice(holders.indexOf(who), 1);
        if (holders.length) held.set(op.lock, holders);
        else held.delete(op.lock);
      }
    }
    return held;
  }

  // ---- state -------------------------------------------------------------------------------
  let pos = -1;
  let selected = violation && violation.actors.length ? violation.actors[0] : actors[0].id;
  const visible = new Set(actors.map((a) => a.id));

  const slider = $('slider');
  const fmt = (x) => JSON.stringify(x);
  const el = (tag, attrs, text) => {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v);
    if (text !== undefined) n.textContent = text;
    return n;
  };

  // ---- charts ------------------------------------------------------------------------------
  function renderCharts() {
    for (const fig of document.querySelectorAll('figure.chart')) {
      const a = actorById.get(fig.dataset.actor);
      fig.hidden = !visible.has(a.id);
      const value = valueAt(a.id, pos);
      fig.dataset.state = value;
      fig.querySelector('[data-role=state]').textContent = value;
      fig.classList.toggle('stepped', pos >= 0 && steps[pos].actor === a.id);
      fig.classList.toggle('selected', a.id === selected);
      fig.classList.toggle('culprit', !!violation && violation.actors.includes(a.id) && pos === violationStep);
      for (const n of fig.querySelectorAll('.lit, .taken, .lit-event')) n.classList.remove('lit', 'taken', 'lit-event');
      for (const p of activePaths(value)) {
        const node = document.getElementById(stateDomId(a, p));
        if (node) node.classList.add('lit');
      }
    }
    if (pos >= 0) lightTransition(steps[pos]);
  }

  /** Light the transition(s) the step took, or the internal event line it handled. */
  function lightTransition(s) {
    const a = actorById.get(s.actor);
    const table = DATA.machines[a.machine] || [];
    const before = new Set(['', ...activePaths(s.before)]);
    const after = new Set(['', ...activePaths(s.after)]);
    const type = s.event.type;
    const kindOk = (t) => (t.kind === 'event' && t.event === type) || (t.kind === 'after' && type === 'xstate.timer');
    const candidates = table.filter((t) => t.targets.length && before.has(t.source) && kindOk(t));
    const landed = candidates.filter((t) => t.targets.every((x) => after.has(x)));
    const taken = landed.length ? landed : candidates.filter((t) => table.some((u) => u.kind === 'always' && t.targets.includes(u.source)));
    const reached = new Set([...before, ...taken.flatMap((t) => t.targets)]);
    if (s.before !== s.after) {
      for (const t of table) if (t.kind === 'always' && reached.has(t.source) && t.targets.every((x) => after.has(x))) taken.push(t);
    }
    for (const t of taken) {
      t.targets.forEach((_, j) => {
        const edge = document.getElementById(`${a.id}/${a.machine}#t${t.n}${j ? `.${j}` : ''}`);
        if (edge) edge.classList.add('taken');
      });
    }
    // Targetless transitions are listed inside the state (or the machine) that handles them.
    for (const p of before) {
      const g = document.getElementById(stateDomId(a, p));
      if (!g) continue;
      for (const text of g.querySelectorAll(':scope > text')) {
        const label = text.textContent;
        if (label === type || label.startsWith(`${type} [`)) text.classList.add('lit-event');
      }
    }
  }

  // ---- step summary, detail, locks, context ------------------------------------------------
  function describeStep(s) {
    const d = s.delivered != null ? messages.get(s.delivered) : null;
    const what = d ? `${s.event.type} #${s.delivered} from ${d.env.from}` : s.event.type;
    const change = s.before === s.after ? s.after : `${s.before} → ${s.after}`;
    return `${s.actor}: ${what} · ${change}`;
  }

  function renderSummary() {
    $('step-label').textContent = pos < 0 ? `start / ${N}` : `step ${pos} / ${N - 1}`;
    $('step-summary').textContent = pos < 0 ? 'initial states, before step 0' : describeStep(steps[pos]);
    $('prev').disabled = pos <= -1;
    $('next').disabled = pos >= N - 1;
    document.body.classList.toggle('at-violation', pos === violationStep);
  }

  function renderDetail() {
    const box = $('step-detail');
    box.replaceChildren();
    if (pos < 0) {
      box.append(el('p', { class: 'muted' }, 'Start of the run. Use ◀ ▶, the slider or the arrow keys.'));
      return;
    }
    const s = steps[pos];
    const dl = el('dl');
    const row = (k, v, cls) => {
      dl.append(el('dt', {}, k));
      const dd = el('dd', cls ? { class: cls } : {}, v);
      dl.append(dd);
      return dd;
    };
    row('choice', s.step, 'mono');
    row('actor', s.actor);
    row('event', s.event.type, 'mono');
    row('state', s.before === s.after ? s.after : `${s.before} → ${s.after}`, 'mono');
    row('virtual time', String(s.t));
    if (s.delivered != null) {
      const m = messages.get(s.delivered);
      row('delivered', m ? `#${s.delivered} ${m.env.type} from ${m.env.from} (sent at step ${m.sent})` : `#${s.delivered}`, 'mono');
    }
    if (s.sent && s.sent.length) row('sent', s.sent.map((x) => `#${x.id} ${x.type} → ${x.to}`).join('\n'), 'mono pre');
    if (s.obs && s.obs.length) row('observed', s.obs.map((o) => fmt(o)).join('\n'), 'mono pre');
    if (violation && pos === violationStep) row('violation', `${violation.monitor}: ${violation.message}`, 'bad');
    box.append(dl);
    const payload = Object.fromEntries(Object.entries(s.event).filter(([k]) => k !== 'type'));
    if (Object.keys(payload).length) {
      const det = el('details');
      det.append(el('summary', {}, 'event payload'));
      det.append(el('pre', { class: 'mono' }, JSON.stringify(payload, null, 1)));
      box.append(det);
    }
  }

  function renderLocks() {
    const box = $('locks');
    box.replaceChildren();
    const held = locksAt(pos);
    const ul = el('ul', { class: 'locks-held', 'data-testid': 'locks-held' });
    for (const [lock, holders] of [...held.entries()].sort()) ul.append(el('li', { class: 'mono' }, `${lock} — ${holders.join(', ')}`));
    if (!held.size) ul.append(el('li', { class: 'muted' }, 'no lock held'));
    box.append(el('div', { class: 'sub' }, pos < 0 ? 'held at the start' : `held after step ${pos}`), ul);
    const ops = pos >= 0 ? steps[pos].locks || [] : [];
    if (ops.length) {
      const ol = el('ul', { class: 'locks-ops' });
      for (const op of ops) ol.append(el('li', { class: `mono ${op.op}` }, `${op.op} ${op.lock}${op.mode === 'read' ? ' (read)' : ''} by ${op.by} in ${op.path}`));
      box.append(el('div', { class: 'sub' }, 'taken and released in this step'), ol);
    }
  }

  function renderContext() {
    $('context-actor').value = selected;
    const c = contextAt(selected, pos);
    $('ctx-when').textContent = c.from < 0 ? '(initial)' : `(as of step ${c.from})`;
    const pre = $('context-view');
    pre.replaceChildren();
    const now = c.now && typeof c.now === 'object' ? c.now : { value: c.now };
    const before = c.before && typeof c.before === 'object' ? c.before : {};
    for (const [k, v] of Object.entries(now)) {
      const changed = c.before !== undefined && fmt(before[k]) !== fmt(v);
      pre.append(el('span', { class: changed ? 'ctx-line changed' : 'ctx-line', 'data-key': k }, `${k}: ${pretty(v, '', 1)}\n`));
    }
  }

  /** JSON with long arrays and objects opened one level: one element or key per line. */
  function pretty(v, indent, depth) {
    const flat = JSON.stringify(v);
    if (flat === undefined) return 'undefined';
    if (flat.length <= 60 || v === null || typeof v !== 'object' || depth >= 2) return flat;
    const pad = `${indent}  `;
    if (Array.isArray(v)) return `[\n${v.map((x) => pad + pretty(x, pad, depth + 1)).join(',\n')}\n${indent}]`;
    return `{\n${Object.entries(v).map(([k, x]) => `${pad}${k}: ${pretty(x, pad, depth + 1)}`).join(',\n')}\n${indent}}`;
  }

  // ---- message sequence diagram ------------------------------------------------------------
  const ROW = 20;
  const LEFT = 330;
  const LANE = 92;
  let rowOf = new Map();
  let rowsShown = [];

  function svgEl(tag, attrs, text) {
    const n = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  }

  function buildMsc() {
    const lanes = actors.filter((a) => visible.has(a.id)).map((a) => a.id);
    const laneX = new Map(lanes.map((id, n) => [id, LEFT + LANE / 2 + n * LANE]));
    rowsShown = [];
    steps.forEach((s, i) => {
      if (visible.has(s.actor)) rowsShown.push(i);
    });
    rowOf = new Map(rowsShown.map((i, r) => [i, r]));
    const quiescence = violation && violation.step >= N;
    const rows = rowsShown.length + (quiescence ? 1 : 0);
    const width = LEFT + Math.max(1, lanes.length) * LANE + 10;
    const height = rows * ROW + ROW;
    const y = (i) => (rowOf.get(i) + 0.5) * ROW;

    const head = svgEl('svg', { width, height: 26, class: 'msc-head-svg' });
    head.append(svgEl('text', { x: 6, y: 17, class: 'lane-title left' }, 'step  actor  event'));
    for (const id of lanes) head.append(svgEl('text', { x: laneX.get(id), y: 17, class: 'lane-title', 'text-anchor': 'middle' }, id));
    $('msc-head').replaceChildren(head);

    const svg = svgEl('svg', { width, height, class: 'msc', 'data-testid': 'msc-svg' });
    const defs = svgEl('defs');
    for (const [name, cls] of [['arrow', 'arrowhead'], ['arrow-hot', 'arrowhead hot'], ['arrow-bad', 'arrowhead bad']]) {
      const m = svgEl('marker', { id: name, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
      m.append(svgEl('path', { d: 'M0,0 L10,5 L0,10 z', class: cls }));
      defs.append(m);
    }
    svg.append(defs);
    const bands = svgEl('g', { class: 'rows' });
    rowsShown.forEach((i) => {
      const s = steps[i];
      const g = svgEl('g', { class: 'row', id: `row-${i}`, 'data-step': i });
      if (violation && i === violation.step) g.classList.add('violation-row');
      g.append(svgEl('rect', { x: 0, y: rowOf.get(i) * ROW, width, height: ROW, class: 'band' }));
      const label = `${String(i).padStart(4)}  ${s.actor}  ${s.event.type}${s.before !== s.after ? `  → ${s.after}` : ''}`;
      g.append(svgEl('text', { x: 6, y: y(i) + 4, class: 'row-label' }, label));
      bands.append(g);
    });
    if (quiescence) {
      const g = svgEl('g', { class: 'row violation-row', id: 'row-quiescence' });
      g.append(svgEl('rect', { x: 0, y: rowsShown.length * ROW, width, height: ROW, class: 'band' }));
      g.append(svgEl('text', { x: 6, y: (rowsShown.length + 0.5) * ROW + 4, class: 'row-label' }, `  at quiescence: ${violation.monitor}`));
      bands.append(g);
    }
    svg.append(bands);
    const lanesG = svgEl('g', { class: 'lanes' });
    for (const id of lanes) lanesG.append(svgEl('line', { x1: laneX.get(id), x2: laneX.get(id), y1: 0, y2: height, class: 'lane' }));
    svg.append(lanesG);
    const msgs = svgEl('g', { class: 'msgs' });
    for (const [id, m] of messages) {
      if (!laneX.has(m.env.from) || !laneX.has(m.env.to)) continue;
      const x1 = laneX.get(m.env.from);
      const x2 = laneX.get(m.env.to);
      const y1 = y(m.sent);
      const y2 = m.delivered != null ? y(m.delivered) : height - 4;
      const g = svgEl('g', { class: 'msg', id: `msg-${id}`, 'data-id': id, 'data-from': m.env.from, 'data-to': m.env.to });
      if (m.delivered == null) g.classList.add('undelivered');
      if (culprits.has(id)) g.classList.add('culprit');
      const d = x1 === x2 ? `M${x1},${y1} C${x1 + 40},${y1} ${x2 + 40},${y2} ${x2 + 3},${y2}` : `M${x1},${y1} L${x2},${y2}`;
      g.append(svgEl('path', { d, class: 'msg-line' }));
      const lx = x1 === x2 ? x1 + 34 : x1 + (x2 - x1) * 0.5;
      const ly = (y1 + y2) / 2 - 3;
      g.append(svgEl('text', { x: lx, y: ly, class: 'msg-label', 'text-anchor': 'middle' }, `#${id} ${m.env.type}`));
      const where = m.delivered != null ? `delivered at step ${m.delivered}` : 'never delivered';
      g.append(svgEl('title', {}, `#${id} ${m.env.type} ${m.env.from} → ${m.env.to}: sent at step ${m.sent}, ${where}\n${JSON.stringify(m.env.payload)}`));
      msgs.append(g);
    }
    svg.append(msgs);
    const dots = svgEl('g', { class: 'dots' });
    rowsShown.forEach((i) => dots.append(svgEl('circle', { cx: laneX.get(steps[i].actor), cy: y(i), r: 3.2, class: 'dot', 'data-step': i })));
    svg.append(dots);
    $('msc-body').replaceChildren(svg);
  }

  function renderMsc() {
    const body = $('msc-body');
    for (const n of body.querySelectorAll('.current, .delivered-now, .sent-now')) n.classList.remove('current', 'delivered-now', 'sent-now');
    if (pos < 0) return;
    const s = steps[pos];
    const row = $(`row-${pos}`);
    if (row) row.classList.add('current');
    if (s.delivered != null) {
      const m = $(`msg-${s.delivered}`);
      if (m) m.classList.add('delivered-now');
    }
    for (const env of s.sent || []) {
      const m = $(`msg-${env.id}`);
      if (m) m.classList.add('sent-now');
    }
    if (row) {
      const scroll = $('msc-scroll');
      const top = rowOf.get(pos) * ROW;
      const head = $('msc-head').offsetHeight;
      if (top < scroll.scrollTop || top + ROW > scroll.scrollTop + scroll.clientHeight - head) {
        scroll.scrollTop = Math.max(0, top - (scroll.clientHeight - head) / 2);
      }
    }
  }

  // ---- slider marks ------------------------------------------------------------------------
  function buildMarks() {
    const marks = $('slider-marks');
    if (violationStep === null || N === 0) return;
    const span = N; // positions -1 .. N-1
    const mark = el('span', { class: 'mark bad', title: `violation: ${violation.monitor}` });
    mark.style.left = `${((violationStep + 1) / span) * 100}%`;
    marks.append(mark);
  }

  // ---- wiring ------------------------------------------------------------------------------
  function go(k) {
    pos = Math.max(-1, Math.min(N - 1, k));
    slider.value = String(pos);
    renderSummary();
    renderCharts();
    renderDetail();
    renderLocks();
    renderContext();
    renderMsc();
    document.body.dataset.step = String(pos);
  }

  slider.addEventListener('input', () => go(Number(slider.value)));
  $('prev').addEventListener('click', () => go(pos - 1));
  $('next').addEventListener('click', () => go(pos + 1));
  const gotoViolation = $('goto-violation');
  if (gotoViolation) gotoViolation.addEventListener('click', () => go(violationStep));
  document.addEventListener('keydown', (ev) => {
    const t = ev.target;
    if (t && (t.tagName === 'SELECT' || (t.tagName === 'INPUT' && t.type !== 'range' && t.type !== 'checkbox'))) return;
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -1, ArrowDown: 1 };
    if (ev.key in moves) go(pos + moves[ev.key]);
    else if (ev.key === 'Home') go(-1);
    else if (ev.key === 'End') go(N - 1);
    else return;
    ev.preventDefault();
  });
  $('context-actor').addEventListener('change', (ev) => {
    selected = ev.target.value;
    renderCharts();
    renderContext();
  });
  for (const fig of document.querySelectorAll('figure.chart')) {
    fig.addEventListener('click', () => {
      selected = fig.dataset.actor;
      renderCharts();
      renderContext();
    });
  }
  $('msc-body').addEventListener('click', (ev) => {
    const row = ev.target.closest && ev.target.closest('[data-step]');
    if (row) go(Number(row.getAttribute('data-step')));
  });
  const setFilter = (ids) => {
    visible.clear();
    for (const id of ids) visible.add(id);
    for (const box of document.querySelectorAll('.filter input[data-actor]')) box.checked = visible.has(box.dataset.actor);
    buildMsc();
    go(pos);
  };
  for (const box of document.querySelectorAll('.filter input[data-actor]')) {
    box.addEventListener('change', () => setFilter([...document.querySelectorAll('.filter input[data-actor]')].filter((b) => b.checked).map((b) => b.dataset.actor)));
  }
  $('filter-all').addEventListener('click', () => setFilter(actors.map((a) => a.id)));
  $('filter-violation').addEventListener('click', () => setFilter(violation && violation.actors.length ? violation.actors : actors.map((a) => a.id)));

  buildMarks();
  buildMsc();
  const fromHash = /^#step=(-?\d+)$/.exec(location.hash);
  go(fromHash ? Number(fromHash[1]) : -1);
})();
