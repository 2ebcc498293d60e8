import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { instance } from '@viz-js/viz';
import { type AnyStateMachine, type AnyStateNode, createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import {
  deviceMachine,
  faultParamMachine,
  iommuMachine,
  iommufdFaultMachine,
  kworkerMachine,
  pasidDriverMachine,
  processMachine,
  vmmMachine,
  workqueueMachine,
} from '../../systems/iopf/machines/index.ts';
import { allStates, machineChart, toDot, toMermaid } from '../../inspect/chart/index.ts';
import { cli } from '../helpers.ts';

// In the order the iopf scenario builds its actors.
const IOPF_MACHINES = [deviceMachine, iommuMachine, faultParamMachine, pasidDriverMachine, workqueueMachine, kworkerMachine, iommufdFaultMachine, vmmMachine, processMachine] as AnyStateMachine[];
const tmp = () => mkdtempSync(join(tmpdir(), 'pagerace-chart-'));

/** State paths read straight from xstate's StateNode tree, independently of inspect/chart. */
function xstatePaths(node: AnyStateNode): string[] {
  return [node.path.join('.'), ...Object.values(node.states as Record<string, AnyStateNode>).flatMap(xstatePaths)];
}

function chartCli(args: string[]) {
  const dir = tmp();
  const ext = { svg: 'svg', dot: 'dot', mermaid: 'mmd', json: 'json' }[args[args.indexOf('--format') + 1]] ?? 'out';
  const out = join(dir, `chart.${ext}`);
  const r = cli(['chart', ...args, '--out', out]);
  expect(r.status, r.stderr).toBe(0);
  expect(r.stderr).toMatch(/written to /);
  return readFileSync(out, 'utf8');
}

describe('pagerace chart iopf', () => {
  it('dot: one cluster per machine, and Graphviz renders it without errors', async () => {
    const dot = chartCli(['iopf', '--format', 'dot']);
    expect(dot).toMatch(/^digraph "iopf" \{/);
    for (const m of IOPF_MACHINES) expect(dot).toContain(`subgraph "cluster_${m.id}"`);
    const r = (await instance()).render(dot, { format: 'svg' });
    expect(r.status).toBe('success');
    expect(r.errors.filter((e) => e.level === 'error')).toEqual([]);
    expect(r.output).toContain('<svg');
  });

  it('svg: rendered offline, with the faultParam states and guards as edge labels', () => {
    const svg = chartCli(['iopf', '--format', 'svg']);
    expect(svg).toContain('<svg');
    expect(svg).toContain('</svg>');
    for (const id of ['iopf.faultParam.idle', 'iopf.faultParam.dispatching']) expect(svg).toContain(`id="${id}"`);
    expect(svg).toMatch(/>idle<\/text>/);
    expect(svg).toMatch(/>dispatching<\/text>/);
    expect(svg).toContain('always [dispatchingGroup]');
    expect(svg).toContain('PAGE_RESPONSE [disablesPri]');
    expect(svg).toContain('after think');
  });

  it('mermaid: a stateDiagram-v2 with a composite per machine, initial and final states', () => {
    const text = chartCli(['iopf', '--format', 'mermaid']);
    expect(text.startsWith('stateDiagram-v2\n')).toBe(true);
    for (const m of IOPF_MACHINES) expect(text).toContain(`state ${m.id.replace(".", "_")} {`);
    expect(text).toContain('[*] --> iopf_faultParam__idle');
    expect(text).toContain('iopf_faultParam__idle --> iopf_faultParam__dispatching : always [dispatchingGroup]');
    expect(text).toContain('iopf_process__done --> [*]');
  });

  it('json: every state of every machine, with types, initial states and transitions', () => {
    const o = JSON.parse(chartCli(['iopf', '--format', 'json']));
    expect(o).toMatchObject({ format: 'pagerace-chart', version: 1, name: 'iopf' });
    expect(o.machines.map((m: { id: string }) => m.id)).toEqual(IOPF_MACHINES.map((m) => m.id));
    for (const m of IOPF_MACHINES) {
      const chart = o.machines.find((c: { id: string }) => c.id === m.id);
      expect(allStates(chart.root).map((s) => s.path).sort(), m.id).toEqual(xstatePaths(m.root).sort());
    }
    const fp = o.machines.find((c: { id: string }) => c.id === 'iopf.faultParam');
    expect(fp.root.initial).toBe('idle');
    const idle = fp.root.children.find((s: { key: string }) => s.key === 'idle');
    expect(idle.transitions).toContainEqual(expect.objectContaining({ kind: 'always', guard: 'dispatchingGroup', targets: ['dispatching'] }));
    const proc = o.machines.find((c: { id: string }) => c.id === 'iopf.process');
    expect(proc.root.children.find((s: { key: string }) => s.key === 'done').type).toBe('final');
  });

  it('a single machine by its id; the format follows --out when --format is not given', () => {
    const dir = tmp();
    const out = join(dir, 'fp.dot');
    const r = cli(['chart', 'faultParam', '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const dot = readFileSync(out, 'utf8');
    expect(dot).toContain('subgraph "cluster_iopf.faultParam"');
    expect(dot).not.toContain('cluster_iopf.device');
    const stdout = cli(['chart', 'kworker', '--format', 'mermaid']);
    expect(stdout.status).toBe(0);
    expect(stdout.stdout).toContain('iopf_kworker__idle --> iopf_kworker__handling : RUN_GROUP');
    // The namespaced id works as well as the short name.
    expect(cli(['chart', 'iopf.kworker', '--format', 'mermaid']).stdout).toBe(stdout.stdout);
  });
});

describe('charts of nested, parallel and final states', () => {
  const nested = createMachine({
    id: 'nest',
    initial: 'off',
    on: { RESET: '.off' },
    states: {
      off: { on: { GO: { target: 'on', guard: ({ event }) => event.type === 'GO' } } },
      on: {
        type: 'parallel',
        states: {
          a: { initial: 'a1', states: { a1: { on: { NEXT: 'a2' } }, a2: { type: 'final' } } },
          b: { initial: 'b1', states: { b1: { after: { 100: 'b2' } }, b2: {} } },
        },
        on: { STOP: 'off' },
      },
    },
  });

  it('walks every level, and DOT with clusters and Mermaid come out of it', async () => {
    const chart = machineChart(nested);
    expect(allStates(chart.root).map((s) => `${s.path}:${s.type}`)).toEqual([
      ':compound', 'off:atomic', 'on:parallel', 'on.a:compound', 'on.a.a1:atomic', 'on.a.a2:final', 'on.b:compound', 'on.b.b1:atomic', 'on.b.b2:atomic',
    ]);
    const dot = toDot([chart]);
    expect(dot).toContain('subgraph "cluster_nest.on"');
    expect(dot).toContain('subgraph "cluster_nest.on.a"');
    expect(dot).toContain('label="after 100"');
    expect(dot).toContain('lhead="cluster_nest.on"');
    expect(dot).toMatch(/label="GO \[event\.type===.*\]"/);
    const r = (await instance()).render(dot, { format: 'svg' });
    expect(r.status).toBe('success');
    const mermaid = toMermaid([chart]);
    expect(mermaid).toContain('state nest__on {');
    expect(mermaid).toMatch(/\n\s+--\n/);
    expect(mermaid).toContain('nest__on__a__a2 --> [*]');
    expect(mermaid).toContain('nest__on --> nest__off : STOP');
  });
});

describe('chart: bad input is one line, exit 2, no stack trace', () => {
  const cases: [string[], RegExp][] = [
    [['chart', 'nope'], /unknown scenario or machine "nope"; scenarios: iopf(, [a-z-]+)*; machines: iopf.device, iopf.iommu, iopf.faultParam, iopf.pasidDriver, iopf.workqueue, iopf.kworker, iopf.iommufdFault, iopf.vmm, iopf.process/],
    [['chart', 'iopf', '--format', 'png'], /--format must be one of svg, dot, mermaid, json, got "png"/],
    [['chart', 'iopf', '--format', 'dot', '--out', '/nonexistent-dir/x.dot'], /cannot write chart file \/nonexistent-dir\/x.dot: ENOENT/],
    [['chart'], /missing required argument 'target'/],
  ];
  for (const [args, pattern] of cases) {
    it(args.join(' '), () => {
      const r = cli(args);
      expect(r.status, r.stderr).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^pagerace: /);
      expect(lines[0]).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\s+at .+:\d+:\d+/);
    });
  }
});
