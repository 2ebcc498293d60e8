/**
 * Which machines a scenario uses, and chart targets by name: a scenario (all its machines) or
 * one machine by its id (or its actor kind's name). The scenarios are the source: each is built
 * with its default parameters (and each bug variant's) to list the actor kinds it creates, so a
 * new scenario's machines appear here without being registered twice.
 */
import type { AnyStateMachine } from 'xstate';
import { seededData } from '../core/dataSource.ts';
import { defaultParams } from '../core/params.ts';
import type { ActorKind } from '../core/model/kind.ts';
import { scenarios } from '../systems/index.ts';
import type { Scenario } from '../core/model/scenario.ts';

export interface KnownMachine {
  /** The machine's id. */
  id: string;
  /** The actor kind that runs it. */
  kind: string;
  machine: AnyStateMachine;
}

const cache = new Map<string, KnownMachine[]>();

/** The machines of a scenario, each once, in the order its actors are built. */
export function scenarioMachines(s: Scenario): KnownMachine[] {
  let known = cache.get(s.name);
  if (known) return known;
  const byId = new Map<string, KnownMachine>();
  for (const bug of [null, ...s.bugs.map((b) => b.name)]) {
    const params = defaultParams(s, bug);
    const data = seededData(0);
    for (const a of s.build(params, bug, data, s.workload?.draw(params, data)).actors) add(byId, a.kind);
  }
  known = [...byId.values()];
  cache.set(s.name, known);
  return known;
}

/** Every machine of every scenario, each once. */
export function allMachines(): KnownMachine[] {
  const byId = new Map<string, KnownMachine>();
  for (const s of Object.values(scenarios)) for (const m of scenarioMachines(s)) if (!byId.has(m.id)) byId.set(m.id, m);
  return [...byId.values()];
}

/**
 * A machine by its namespaced id ("iopf.faultParam"), or by its short name ("faultParam") when
 * exactly one system has a machine of that name.
 */
export function findMachine(name: string): KnownMachine | undefined {
  const all = allMachines();
  const exact = all.find((m) => m.id === name);
  if (exact) return exact;
  const short = all.filter((m) => m.id.slice(m.id.indexOf('.') + 1) === name);
  return short.length === 1 ? short[0] : undefined;
}

export type ChartTarget = { type: 'scenario'; name: string; machines: KnownMachine[] } | { type: 'machine'; name: string; machines: KnownMachine[] };

/** Resolve `chart <scenario|machine>`; undefined when the name is neither. */
export function resolveChartTarget(name: string): ChartTarget | undefined {
  const s = scenarios[name];
  if (s) return { type: 'scenario', name, machines: scenarioMachines(s) };
  const m = findMachine(name);
  return m ? { type: 'machine', name: m.id, machines: [m] } : undefined;
}

function add(byId: Map<string, KnownMachine>, k: ActorKind): void {
  if (!byId.has(k.machine.id)) byId.set(k.machine.id, { id: k.machine.id, kind: k.kind, machine: k.machine });
}
