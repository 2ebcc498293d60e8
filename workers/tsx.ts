/**
 * Worker thread entries, built or from sources. Installed, pagerace runs the JavaScript in dist/:
 * a worker thread loads the `.js` beside the calling module with no loader. From the TypeScript
 * sources (tests under vitest, `PAGERACE_SOURCES=1`, the bench) the thread loads the `.ts` file
 * through tsx (the parent's tsx registration, or vitest's transform, is not inherited by threads).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** True when this module runs from the build (dist/*.js), false from the `.ts` sources. */
export const BUILT = import.meta.url.endsWith('.js');

let argv: string[] | null = null;

/** execArgv for a piscina pool whose worker file is TypeScript. */
export function workerExecArgv(): string[] {
  if (BUILT) return [];
  if (!argv) {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    argv = ['--import', tsx];
  }
  return argv;
}

/**
 * A worker entry named by its source file (`new URL('./x.ts', import.meta.url)`, which the
 * import-rule test reads): the built `.js` beside the caller when running built, else the `.ts`.
 */
export function workerFile(source: URL): string {
  return BUILT ? source.href.replace(/\.ts$/, '.js') : source.href;
}
