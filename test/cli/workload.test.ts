/**
 * Hand-written workloads: every examples/*.workload.json runs (against the model and, where the
 * file's description names one, a variant it shows), its repro replays with the workload, and a
 * bad file is one line naming the field, the value and what is allowed.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultParams } from '../../core/params.ts';
import { DataSource } from '../../core/dataSource.ts';
import { iopfScenario } from '../../systems/iopf/scenario.ts';
import { workloadSchema } from '../../systems/iopf/workload.ts';
import { ROOT, cli } from '../helpers.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'pagerace-wl-'));
const EXAMPLES = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.workload.json'));

/** The variant each example shows (and the monitor that catches it). */
const SHOWS: Record<string, { bug: string; monitors: string[] }> = {
  'iopf-enomem-partial-leak.workload.json': { bug: 'partial-leak-on-alloc-failure', monitors: ['no-stuck-partial', 'group-integrity'] },
};

describe('example workloads', () => {
  it('there is one for each system with a workload vocabulary', () => {
    expect(EXAMPLES.some((f) => JSON.parse(readFileSync(join(ROOT, 'examples', f), 'utf8')).scenario === 'iopf')).toBe(true);
    for (const f of EXAMPLES) expect(SHOWS[f], `${f}: say in SHOWS which variant it shows`).toBeDefined();
  });

  for (const f of EXAMPLES) {
    it(`${f}: clean on the model, finds its variant, and the repro replays with the workload`, () => {
      const path = join('examples', f);
      const clean = cli(['explore', '--workload', path, '--runs', '150', '--json']);
      expect(clean.status, clean.stderr).toBe(0);
      expect(clean.stderr).toContain(`workload ${path}`);
      const dir = tmp();
      const found = cli(['explore', '--workload', path, '--bug', SHOWS[f].bug, '--runs', '300', '--out', dir, '--json']);
      expect(found.status, found.stderr).toBe(1);
      const v = JSON.parse(found.stdout).firstViolation;
      expect(SHOWS[f].monitors).toContain(v.monitor);
      const repro = JSON.parse(readFileSync(v.repro, 'utf8'));
      expect(repro.workload).toBeDefined();
      expect(repro.schedule.data.some((d: { label: string }) => d.label.startsWith('workload:'))).toBe(false);
      const again = cli(['replay', v.repro, '--json']);
      expect(again.status).toBe(1);
      expect(JSON.parse(again.stdout).violation).toEqual({ monitor: v.monitor, message: v.message, step: v.step });
      // Without its workload the schedule no longer fits: the repro really carries it.
      delete repro.workload;
      writeFileSync(join(dir, 'no-workload.json'), JSON.stringify(repro));
      expect(cli(['replay', join(dir, 'no-workload.json')]).status).toBe(2);
    });
  }
});

describe('the IOPF workload vocabulary', () => {
  it('every drawn workload is a valid file workload, and validating it changes nothing', async () => {
    for (let seed = 0; seed < 200; seed++) {
      const p = defaultParams(iopfScenario);
      const w = iopfScenario.workload!.draw(p, DataSource.seeded(seed));
      const r = await workloadSchema['~standard'].validate(JSON.parse(JSON.stringify(w)));
      expect(r.issues).toBeUndefined();
      expect((r as { value: unknown }).value).toEqual(w);
      expect(iopfScenario.workload!.check!(w, p)).toBeNull();
    }
  });

});

describe('bad workload files: one line naming the field, the value and what is allowed; exit 2', () => {
  const dir = tmp();
  const write = (name: string, o: unknown) => {
    const f = join(dir, name);
    writeFileSync(f, typeof o === 'string' ? o : JSON.stringify(o));
    return f;
  };
  const dev = (requests: unknown[], extra = {}) => ({ scenario: 'iopf', workload: { devices: [{ requests, ...extra }] } });
  const cases: [string, unknown, RegExp][] = [
    ['grpid.json', dev([{ grpid: 600, page: 0 }]), /workload\.devices\[0\]\.requests\[0\]\.grpid: got 600, allowed <=511/],
    ['typo.json', dev([{ grpid: 1, page: 0, wrte: true }]), /requests\[0\]\.wrte: unknown field "wrte"; allowed fields: kind, grpid, page, write, last, pasid, privData/],
    ['page.json', dev([{ page: 9 }]), /requests\[0\]\.page: 9 is not allowed; a page from 0 to 7 of the VMA, or 8/],
    ['missing.json', dev([{ grpid: 1 }]), /requests\[0\]\.page: missing; required/],
    ['kind.json', dev([{ page: 1, kind: 'dma' }]), /requests\[0\]\.kind: got "dma", allowed \("page-req" \| "unrecoverable"\)/],
    ['unplug.json', dev([{ page: 1 }], { unplugAfter: 5 }), /devices\[0\]\.unplugAfter: 5 is not allowed; a number of requests from 0 to 1/],
    ['devices.json', { ...dev([{ page: 1 }]), parameters: { devices: 2 } }, /workload\.devices: 1 device\(s\) but parameter devices is 2/],
    ['param.json', { ...dev([{ page: 1 }]), parameters: { prqDepth: 0 } }, /parameters prqDepth: "0" is not allowed; a whole number from 1 to 4096/],
    ['scenario.json', { scenario: 'no-such-system', workload: {} }, /unknown scenario "no-such-system"/],
    ['envelope.json', { scenario: 'iopf', workload: {}, extra: 1 }, /unknown field "extra"; a workload file has the fields scenario, description, parameters, workload/],
    ['array.json', [1], /not a workload file \(expected a JSON object/],
    ['json.json', '{"scenario": ', /is not valid JSON/],
  ];
  for (const [name, content, pattern] of cases) {
    it(name, () => {
      const r = cli(['explore', '--workload', write(name, content), '--runs', '1']);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(pattern);
    });
  }
  it('a workload for another scenario than the one named', () => {
    const r = cli(['explore', './examples/refcount/scenario.ts', '--workload', write('x.json', dev([{ page: 1 }])), '--runs', '1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/is written for scenario iopf, not refcount/);
  });
});
