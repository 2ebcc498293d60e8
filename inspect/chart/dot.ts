/**
 * Graphviz DOT for one or more machine charts: one cluster per machine, a cluster per compound
 * or parallel state, a point for each initial state, a double border for final states, an edge
 * per transition labelled `EVENT [guard]`. Targetless transitions (actions only) are listed
 * inside the state that handles them (under the machine's name for root-level ones).
 *
 * Every state and transition gets a stable SVG id (`stateDomId`, `transitionDomId`), so the
 * inspector can light the current state and the transition just taken.
 */
import { type ChartState, type ChartTransition, type MachineChart, transitionLabel } from './model.ts';

export interface DotOptions {
  /** Graph name. */
  name?: string;
  /** Prefix of every SVG id (the inspector renders one chart per actor: `dev0/`). */
  idPrefix?: string;
}

const FONT = 'Helvetica';
const COLORS = { line: '#5b6b7f', fill: '#ffffff', cluster: '#f4f6f9', muted: '#5f6b7a' };

/** SVG id of a state: the machine id, then the state's path (xstate's default state id). */
export function stateDomId(prefix: string, machineId: string, path: string): string {
  return `${prefix}${machineId}${path ? `.${path}` : ''}`;
}

/** SVG id of the n-th transition of a machine (in `machineTransitions` order); `j` for its j-th target. */
export function transitionDomId(prefix: string, machineId: string, n: number, j = 0): string {
  return `${prefix}${machineId}#t${n}${j ? `.${j}` : ''}`;
}

/** Every transition of a machine with its source, in a fixed order (states depth first). */
export function machineTransitions(chart: MachineChart): { source: ChartState; t: ChartTransition }[] {
  const out: { source: ChartState; t: ChartTransition }[] = [];
  const walk = (s: ChartState) => {
    for (const t of s.transitions) out.push({ source: s, t });
    s.children.forEach(walk);
  };
  walk(chart.root);
  return out;
}

export function toDot(charts: MachineChart[], opts: DotOptions = {}): string {
  const prefix = opts.idPrefix ?? '';
  const out: string[] = [
    `digraph ${q(opts.name ?? charts.map((c) => c.id).join('+'))} {`,
    `  graph [id=${q(`${prefix}chart`)}, compound=true, rankdir=TB, fontname=${q(FONT)}, fontsize=12, nodesep=0.3, ranksep=0.35, pad=0.15, newrank=true];`,
    `  node [fontname=${q(FONT)}, fontsize=11, shape=box, style="rounded,filled", fillcolor=${q(COLORS.fill)}, color=${q(COLORS.line)}, margin="0.12,0.04", height=0.3];`,
    `  edge [fontname=${q(FONT)}, fontsize=9, color=${q(COLORS.line)}, fontcolor="#33404f", arrowsize=0.6];`,
  ];
  for (const chart of charts) {
    const g = new MachineDot(chart, prefix);
    out.push(...g.lines('  '));
  }
  out.push('}');
  return out.join('\n') + '\n';
}

class MachineDot {
  private readonly edges: string[] = [];

  constructor(
    private readonly chart: MachineChart,
    private readonly prefix: string,
  ) {}

  lines(indent: string): string[] {
    const body = this.state(this.chart.root, indent);
    machineTransitions(this.chart).forEach(({ source, t }, n) => this.edge(source, t, n, indent));
    return [...body, ...this.edges];
  }

  private id(path: string): string {
    return stateDomId(this.prefix, this.chart.id, path);
  }

  /** The node an edge to or from `s` attaches to: itself, or the anchor inside its cluster. */
  private anchor(s: ChartState): string {
    return isCluster(s) ? `${this.id(s.path)}:anchor` : this.id(s.path);
  }

  private state(s: ChartState, indent: string): string[] {
    const id = this.id(s.path);
    const internal = s.transitions.filter((t) => t.targets.length === 0).map(transitionLabel);
    if (!isCluster(s)) {
      const attrs = [`id=${q(id)}`, `class=${q(`state ${s.type}`)}`];
      if (s.type === 'history') attrs.push('shape=circle', `label=${q(s.key)}`);
      else attrs.push(`label=${htmlLabel(s.key, internal)}`);
      if (s.type === 'final') attrs.push('peripheries=2');
      return [`${indent}${q(id)} [${attrs.join(', ')}];`];
    }
    const title = s.path === '' ? this.chart.id : s.key;
    const style = s.type === 'parallel' ? 'rounded,dashed' : s.path === '' ? 'rounded,filled' : 'rounded';
    const out = [
      `${indent}subgraph ${q(`cluster_${id}`)} {`,
      `${indent}  id=${q(id)}; class=${q(`state ${s.type}${s.path === '' ? ' machine' : ''}`)};`,
      `${indent}  label=${htmlLabel(title, internal, s.path === '')}; labeljust=l; style=${q(style)}; color=${q(COLORS.line)}; fillcolor=${q(COLORS.cluster)};`,
    ];
    const anchor = this.anchor(s);
    if (s.type === 'compound') {
      out.push(`${indent}  ${q(anchor)} [id=${q(anchor)}, class="initial", shape=point, width=0.09, style=filled, fillcolor=${q(COLORS.line)}, label=""];`);
    } else {
      out.push(`${indent}  ${q(anchor)} [id=${q(anchor)}, shape=point, width=0.01, style=invis, label=""];`);
    }
    for (const c of s.children) out.push(...this.state(c, `${indent}  `));
    if (s.initial !== null) {
      const init = s.children.find((c) => c.path === s.initial)!;
      const attrs = [`id=${q(`${id}:initial`)}`, 'class="initial"', clusterEnds(undefined, init, this)].filter(Boolean);
      out.push(`${indent}  ${q(anchor)} -> ${q(this.anchor(init))} [${attrs.join(', ')}];`);
    }
    out.push(`${indent}}`);
    return out;
  }

  private edge(source: ChartState, t: ChartTransition, n: number, indent: string): void {
    t.targets.forEach((path, j) => {
      const target = findState(this.chart.root, path);
      if (!target) return;
      const attrs = [
        `id=${q(transitionDomId(this.prefix, this.chart.id, n, j))}`,
        `class=${q(`transition ${t.kind}`)}`,
        `label=${q(transitionLabel(t))}`,
      ];
      if (t.kind !== 'event') attrs.push('style=dashed');
      const ends = clusterEnds(source, target, this);
      if (ends) attrs.push(ends);
      this.edges.push(`${indent}${q(this.anchor(source))} -> ${q(this.anchor(target))} [${attrs.join(', ')}];`);
    });
  }

  clusterName(s: ChartState): string {
    return `cluster_${this.id(s.path)}`;
  }
}

/** ltail/lhead so that an edge from or to a compound state stops at its cluster's border. */
function clusterEnds(source: ChartState | undefined, target: ChartState, g: MachineDot): string {
  const attrs: string[] = [];
  if (source && isCluster(source) && !isWithin(target.path, source.path)) attrs.push(`ltail=${q(g.clusterName(source))}`);
  if (isCluster(target) && !(source && isWithin(source.path, target.path))) attrs.push(`lhead=${q(g.clusterName(target))}`);
  return attrs.join(', ');
}

function isCluster(s: ChartState): boolean {
  return s.type === 'compound' || s.type === 'parallel';
}

function isWithin(path: string, ancestor: string): boolean {
  return ancestor === '' || path === ancestor || path.startsWith(`${ancestor}.`);
}

export function findState(root: ChartState, path: string): ChartState | undefined {
  if (root.path === path) return root;
  for (const c of root.children) {
    if (isWithin(path, c.path)) return findState(c, path);
  }
  return undefined;
}

function htmlLabel(title: string, internal: string[], big = false): string {
  const head = big ? `<FONT POINT-SIZE="13"><B>${html(title)}</B></FONT>` : `<B>${html(title)}</B>`;
  const rows = internal.map((l) => `<BR/><FONT POINT-SIZE="8" COLOR="${COLORS.muted}">${html(l)}</FONT>`);
  return `<${head}${rows.join('')}>`;
}

function q(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function html(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
