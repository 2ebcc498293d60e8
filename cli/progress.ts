/**
 * Progress on stderr while an exploration runs: runs done of the total, runs/s, ETA, violations
 * and errored runs so far, redrawn in place. Only when stderr is a terminal (nothing of it when
 * piped or redirected), not with --quiet; colour only without NO_COLOR. stdout is never touched.
 *
 * Wall-clock time is read here for the display (and runs/s) only: it is outside every run and
 * never enters a trace, a digest or a decision of the exploration.
 */
export interface ProgressCounts {
  done: number;
  violations: number;
  errored: number;
}

export interface ProgressSink {
  update(c: ProgressCounts): void;
  /** Erase the line (before the summary is printed). */
  done(): void;
}

export const NO_PROGRESS: ProgressSink = { update() {}, done() {} };

/** Least time between two redraws. */
const REDRAW_MS = 150;

export interface ProgressOptions {
  total: number;
  /** Runs already done before this process started (a resumed exploration). */
  start?: number;
  label: string;
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
  env?: NodeJS.ProcessEnv;
}

export function progressFor(o: ProgressOptions): ProgressSink {
  const stream = o.stream ?? process.stderr;
  if (o.quiet || !stream.isTTY) return NO_PROGRESS;
  const env = o.env ?? process.env;
  // https://no-color.org: any non-empty value.
  const color = !env.NO_COLOR;
  const paint = (code: string, s: string) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const started = performance.now();
  const start = o.start ?? 0;
  let last = -Infinity;
  let shown = false;
  const draw = (c: ProgressCounts) => {
    const now = performance.now();
    const seconds = (now - started) / 1000;
    const fresh = Math.max(0, c.done - start);
    const rate = seconds > 0 ? fresh / seconds : 0;
    const left = Math.max(0, o.total - c.done);
    const eta = rate > 0 && fresh > 0 ? formatSeconds(left / rate) : '--';
    const pct = o.total > 0 ? Math.floor((100 * c.done) / o.total) : 100;
    const viol = c.violations > 0 ? paint('1;31', `${c.violations} violation(s)`) : `${c.violations} violation(s)`;
    const err = c.errored > 0 ? `, ${paint('33', `${c.errored} errored`)}` : '';
    const line = `${paint('1', o.label)}: ${c.done}/${o.total} runs (${pct}%), ${Math.round(rate)} runs/s, ETA ${eta}, ${viol}${err}`;
    const width = stream.columns && stream.columns > 20 ? stream.columns - 1 : 200;
    stream.write(`\r\x1b[2K${line.length > width && !color ? line.slice(0, width) : line}`);
    shown = true;
    last = now;
  };
  return {
    update(c) {
      if (performance.now() - last >= REDRAW_MS) draw(c);
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
