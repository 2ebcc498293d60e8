/**
 * Mermaid `stateDiagram-v2` text for one or more machine charts: a composite state per machine
 * (and per compound state), `[*]` for initial and final states, `--` between the regions of a
 * parallel state. Targetless transitions are drawn as self-loops, so that every event a state
 * handles is visible; root-level ones loop on the machine's composite state. Each transition is
 * written inside the innermost composite holding both its ends (Mermaid's rule).
 */
import { type ChartState, type MachineChart, transitionLabel } from './model.ts';

const TOP = '\u0000top';

export function toMermaid(charts: MachineChart[]): string {
  const out = ['stateDiagram-v2'];
  for (const chart of charts) {
    const id = (path: string) => mermaidId(chart.id, path);
    const edges = new Map<string, string[]>();
    const walkEdges = (s: ChartState) => {
      for (const t of s.transitions) {
        for (const target of t.targets.length ? t.targets : [s.path]) {
          const where = container(s.path, target);
          edges.set(where, [...(edges.get(where) ?? []), `${id(s.path)} --> ${id(target)} : ${clean(transitionLabel(t))}`]);
        }
      }
      s.children.forEach(walkEdges);
    };
    walkEdges(chart.root);
    const walk = (s: ChartState, indent: string) => {
      const self = id(s.path);
      if (s.path !== '') out.push(`${indent}state "${clean(s.key)}" as ${self}`);
      if (s.children.length === 0) {
        if (s.type === 'final') out.push(`${indent}${self} --> [*]`);
        return;
      }
      out.push(`${indent}state ${self} {`);
      if (s.initial) out.push(`${indent}  [*] --> ${id(s.initial)}`);
      s.children.forEach((c, i) => {
        if (s.type === 'parallel' && i > 0) out.push(`${indent}  --`);
        walk(c, `${indent}  `);
      });
      for (const e of edges.get(s.path) ?? []) out.push(`${indent}  ${e}`);
      out.push(`${indent}}`);
    };
    walk(chart.root, '  ');
    for (const e of edges.get(TOP) ?? []) out.push(`  ${e}`);
  }
  return out.join('\n') + '\n';
}

/** Mermaid ids are global and plain: machine and path segments joined with double underscores. */
export function mermaidId(machineId: string, path: string): string {
  return [machineId, ...(path ? path.split('.') : [])].map((p) => p.replace(/\W/g, '_')).join('__');
}

/** The innermost composite that holds both ends of a transition (TOP: outside every machine). */
function container(a: string, b: string): string {
  const sa = a ? a.split('.') : [];
  const sb = b ? b.split('.') : [];
  let n = 0;
  while (n < sa.length && n < sb.length && sa[n] === sb[n]) n++;
  // A transition to or from an ancestor (or a self-loop) goes outside that ancestor.
  if (n === sa.length || n === sb.length) n--;
  return n < 0 ? TOP : sa.slice(0, n).join('.');
}

/** Characters that end or restructure a Mermaid statement are not allowed in labels. */
function clean(s: string): string {
  return s.replace(/[:;#{}"]/g, ' ').replace(/\s+/g, ' ').trim();
}
