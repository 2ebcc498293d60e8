/**
 * The inspector's content from a full trace: each actor's statechart rendered to SVG now (so
 * the page needs no layout engine and no network), the machines' transition tables (to light
 * the transition a step took), and the trace itself. Same trace in, same page out.
 */
import type { Scenario } from '../../core/model/scenario.ts';
import type { FullTrace } from '../../core/fullTrace.ts';
import { machineChart, type MachineChart, machineTransitions, toDot } from '../chart/index.ts';
import { inlineSvg, renderSvg } from '../chart/svg.ts';
import { scenarios } from '../../systems/index.ts';
import { scenarioMachines } from '../machines.ts';
import { inspectorPage } from './page.ts';

export class InspectorError extends Error {}

export interface ActorChart {
  actor: string;
  kind: string;
  machine: string;
  svg: string;
}

/** What the page's script reads (embedded as JSON). */
export interface InspectorData {
  title: string;
  source: string;
  scenario: string;
  bug: string | null;
  parameters: Record<string, unknown>;
  actors: { id: string; kind: string; machine: string; value: string; context: unknown }[];
  /** Per machine, its transitions in `machineTransitions` order (their SVG ids end in `#t<n>`). */
  machines: Record<string, { n: number; source: string; kind: string; event: string; targets: string[] }[]>;
  steps: FullTrace['steps'];
  end: FullTrace['end'];
}

export async function buildInspectorHtml(trace: FullTrace, opts: { source: string; scenario?: Scenario }): Promise<string> {
  const { header } = trace;
  const charts = new Map<string, MachineChart>();
  // Machines are resolved through the trace's scenario: two systems may both have an "iommu".
  // A user's own scenario (a module) is passed in; built-in ones are found by name.
  const scenario = opts.scenario ?? scenarios[header.scenario];
  if (!scenario) {
    throw new InspectorError(
      `the trace is of scenario "${header.scenario}", which this pagerace does not have; scenarios: ${Object.keys(scenarios).join(', ')} (for your own scenario module, inspect the repro file instead)`,
    );
  }
  const known = scenarioMachines(scenario);
  for (const a of Object.values(header.actors)) {
    if (charts.has(a.machine)) continue;
    const m = known.find((k) => k.id === a.machine);
    if (!m) {
      throw new InspectorError(`the trace uses machine "${a.machine}", which scenario ${header.scenario} does not have; its machines: ${known.map((k) => k.id).join(', ')}`);
    }
    charts.set(a.machine, machineChart(m.machine));
  }
  const actorCharts: ActorChart[] = [];
  for (const [id, a] of Object.entries(header.actors)) {
    const dot = toDot([charts.get(a.machine)!], { name: id, idPrefix: `${id}/` });
    actorCharts.push({ actor: id, kind: a.kind, machine: a.machine, svg: inlineSvg(await renderSvg(dot)) });
  }
  const machines: InspectorData['machines'] = {};
  for (const [id, chart] of charts) {
    machines[id] = machineTransitions(chart).map(({ source, t }, n) => ({ n, source: source.path, kind: t.kind, event: t.event, targets: t.targets }));
  }
  const title = `${header.scenario}${header.bug ? ` · ${header.bug}` : ''}`;
  const data: InspectorData = {
    title,
    source: opts.source,
    scenario: header.scenario,
    bug: header.bug,
    parameters: header.parameters,
    actors: Object.entries(header.actors).map(([id, a]) => ({ id, ...a })),
    machines,
    steps: trace.steps,
    end: trace.end,
  };
  return inspectorPage(data, actorCharts);
}
