/**
 * Coverage of an exploration: per machine, the states and transitions its steps visited out of
 * those its definition has (read from the xstate StateNode tree: leaf states, and each `on`/`after`
 * transition of each state node; eventless `always` transitions run inside a step and are not
 * counted), and the (machine, state, event) triples seen. It subscribes to the step stream like
 * any other consumer; reports are plain JSON and merge by union (shards).
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import type { StepRecord } from './model/monitor.ts';
import type { World } from './world.ts';

interface DefinedTransition {
  /** Dotted path of the state node that defines it. */
  source: string;
  event: string;
  /** Dotted target paths (empty: targetless). */
  targets: string[];
  id: string;
}

interface MachineDef {
  states: string[];
  transitions: DefinedTransition[];
  /** source path -> event -> transitions defined there. */
  byNode: Map<string, Map<string, DefinedTransition[]>>;
}

export interface MachineCoverage {
  states: { visited: number; defined: number };
  transitions: { visited: number; defined: number };
  triples: number;
}

/** The JSON form (`--json`'s `coverage`): totals per machine and the visited sets, for merging. */
export interface CoverageReport {
  machines: Record<string, MachineCoverage>;
  totals: { states: { visited: number; defined: number }; transitions: { visited: number; defined: number }; triples: number };
  visited: { states: Record<string, string[]>; transitions: Record<string, string[]>; triples: Record<string, string[]> };
  defined: { states: Record<string, number>; transitions: Record<string, number> };
}

const defs = new WeakMap<AnyStateMachine, MachineDef>();

export function machineDef(machine: AnyStateMachine): MachineDef {
  let d = defs.get(machine);
  if (d) return d;
  const states: string[] = [];
  const transitions: DefinedTransition[] = [];
  const byNode = new Map<string, Map<string, DefinedTransition[]>>();
  const walk = (node: AnyStateNode) => {
    const path = node.path.join('.');
    const children = Object.values(node.states as Record<string, AnyStateNode>);
    if (children.length === 0 && node.path.length > 0) states.push(path);
    if (children.length === 0 && node.path.length === 0) states.push('');
    const events = new Map<string, DefinedTransition[]>();
    for (const [event, list] of node.transitions as Map<string, { target?: AnyStateNode[] }[]>) {
      const ts = list.map((t, j) => {
        const targets = (t.target ?? []).map((n) => n.path.join('.'));
        return { source: path, event, targets, id: `${path}|${event}|${j}` };
      });
      transitions.push(...ts);
      events.set(event, ts);
    }
    byNode.set(path, events);
    for (const c of children) walk(c);
  };
  walk(machine.root);
  d = { states, transitions, byNode };
  defs.set(machine, d);
  return d;
}

/** Leaf state paths of a state value as the trace writes it (a string, or JSON of a nested value). */
export function leafPaths(value: string): string[] {
  if (!value.startsWith('{')) return [value];
  const out: string[] = [];
  const walk = (v: unknown, prefix: string) => {
    if (typeof v === 'string') out.push(prefix ? `${prefix}.${v}` : v);
    else if (v && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      if (entries.length === 0) out.push(prefix);
      for (const [k, x] of entries) walk(x, prefix ? `${prefix}.${k}` : k);
    }
  };
  walk(JSON.parse(value), '');
  return out;
}

export class Coverage {
  private readonly machines = new Map<string, MachineDef>();
  private readonly kindOf = new Map<string, string>();
  private readonly states = new Map<string, Set<string>>();
  private readonly transitions = new Map<string, Set<string>>();
  private readonly triples = new Map<string, Set<string>>();
  /**
   * (before, event, after) already accounted for, per kind: what they add to states and
   * transitions is a function of them, so a repeat (most steps of a long exploration) stops at
   * one lookup instead of parsing state paths and matching transitions again.
   */
  private readonly stepsSeen = new Map<string, Set<string>>();
  /** Triples seen for the first time, over the whole exploration. */
  newTriples = 0;
  /** Runs in a row that saw no new triple (--until-coverage). */
  quietRuns = 0;

  /** The machines of a world (their definitions) and which actor runs which; call once per world. */
  addWorld(world: World): void {
    for (const m of world.members) {
      this.kindOf.set(m.id, m.kind.kind);
      if (!this.machines.has(m.kind.kind)) {
        this.machines.set(m.kind.kind, machineDef(m.machine));
        this.states.set(m.kind.kind, new Set());
        this.transitions.set(m.kind.kind, new Set());
        this.triples.set(m.kind.kind, new Set());
        this.stepsSeen.set(m.kind.kind, new Set());
      }
      const init = this.states.get(m.kind.kind)!;
      for (const p of leafPaths(valueOf(m.snap.value))) init.add(p);
    }
  }

  onStep(rec: StepRecord): void {
    const kind = this.kindOf.get(rec.actor);
    if (!kind) return;
    const def = this.machines.get(kind)!;
    const event = rec.event.type;
    const tr = this.triples.get(kind)!;
    const t = `${rec.before}|${event}`;
    if (!tr.has(t)) {
      tr.add(t);
      this.newTriples++;
    }
    const seenSteps = this.stepsSeen.get(kind)!;
    const key = `${t}|${rec.after}`;
    if (seenSteps.has(key)) return;
    seenSteps.add(key);
    const after = leafPaths(rec.after);
    const seen = this.states.get(kind)!;
    for (const p of after) seen.add(p);
    const taken = this.transitions.get(kind)!;
    for (const leaf of leafPaths(rec.before)) {
      const d = takenTransition(def, leaf, event, after, rec.before === rec.after);
      if (d) taken.add(d.id);
    }
  }

  report(): CoverageReport {
    const visited: CoverageReport['visited'] = { states: {}, transitions: {}, triples: {} };
    const defined: CoverageReport['defined'] = { states: {}, transitions: {} };
    for (const [kind, d] of [...this.machines].sort(([a], [b]) => (a < b ? -1 : 1))) {
      visited.states[kind] = [...this.states.get(kind)!].filter((s) => d.states.includes(s)).sort();
      visited.transitions[kind] = [...this.transitions.get(kind)!].sort();
      visited.triples[kind] = [...this.triples.get(kind)!].sort();
      defined.states[kind] = d.states.length;
      defined.transitions[kind] = d.transitions.length;
    }
    return summarise(visited, defined);
  }
}

function valueOf(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The defined transition a step took: the deepest state node on the leaf's path with one for the event whose target is where the actor went. */
function takenTransition(def: MachineDef, leaf: string, event: string, after: string[], same: boolean): DefinedTransition | null {
  const parts = leaf === '' ? [] : leaf.split('.');
  for (let n = parts.length; n >= 0; n--) {
    const node = def.byNode.get(parts.slice(0, n).join('.'));
    if (!node) continue;
    const list = event === 'xstate.timer' ? [...node].filter(([e]) => e.startsWith('xstate.after')).flatMap(([, l]) => l) : node.get(event);
    if (!list?.length) continue;
    const hit = list.find((t) => (t.targets.length === 0 ? same : t.targets.some((g) => after.some((a) => a === g || a.startsWith(`${g}.`)))));
    if (hit) return hit;
  }
  return null;
}

function summarise(visited: CoverageReport['visited'], defined: CoverageReport['defined']): CoverageReport {
  const machines: Record<string, MachineCoverage> = {};
  const totals = { states: { visited: 0, defined: 0 }, transitions: { visited: 0, defined: 0 }, triples: 0 };
  for (const kind of Object.keys(defined.states).sort()) {
    const m: MachineCoverage = {
      states: { visited: visited.states[kind]?.length ?? 0, defined: defined.states[kind] },
      transitions: { visited: visited.transitions[kind]?.length ?? 0, defined: defined.transitions[kind] },
      triples: visited.triples[kind]?.length ?? 0,
    };
    machines[kind] = m;
    totals.states.visited += m.states.visited;
    totals.states.defined += m.states.defined;
    totals.transitions.visited += m.transitions.visited;
    totals.transitions.defined += m.transitions.defined;
    totals.triples += m.triples;
  }
  return { machines, totals, visited, defined };
}

/** Coverage reports of disjoint parts of an exploration (shards) as one: the union of what each visited. */
export function mergeCoverage(reports: CoverageReport[]): CoverageReport {
  const visited: CoverageReport['visited'] = { states: {}, transitions: {}, triples: {} };
  const defined: CoverageReport['defined'] = { states: {}, transitions: {} };
  for (const r of reports) {
    for (const k of Object.keys(r.defined.states)) {
      defined.states[k] = r.defined.states[k];
      defined.transitions[k] = r.defined.transitions[k];
    }
    for (const f of ['states', 'transitions', 'triples'] as const) {
      for (const [k, xs] of Object.entries(r.visited[f])) visited[f][k] = [...new Set([...(visited[f][k] ?? []), ...xs])].sort();
    }
  }
  return summarise(visited, defined);
}

/** One line per machine for the human summary. */
export function coverageLines(c: CoverageReport): string[] {
  const pct = (a: number, b: number) => (b ? `${Math.round((100 * a) / b)}%` : '-');
  const lines = [
    `  coverage: states ${c.totals.states.visited}/${c.totals.states.defined} (${pct(c.totals.states.visited, c.totals.states.defined)}), transitions ${c.totals.transitions.visited}/${c.totals.transitions.defined} (${pct(c.totals.transitions.visited, c.totals.transitions.defined)}), ${c.totals.triples} (machine, state, event) triples`,
  ];
  for (const [k, m] of Object.entries(c.machines)) {
    lines.push(`    ${k.padEnd(22)} states ${String(m.states.visited).padStart(3)}/${String(m.states.defined).padEnd(3)} transitions ${String(m.transitions.visited).padStart(3)}/${String(m.transitions.defined).padEnd(3)} triples ${m.triples}`);
  }
  return lines;
}
