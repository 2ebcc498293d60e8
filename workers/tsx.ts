/**
 * Worker threads load the project's `.ts` sources through tsx, wherever the parent runs (the CLI
 * registers tsx through its API, which worker threads do not inherit; vitest does not use tsx).
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

let argv: string[] | null = null;

/** execArgv for a piscina pool whose worker file is TypeScript. */
export function workerExecArgv(): string[] {
  if (!argv) {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    argv = ['--import', tsx];
  }
  return argv;
}
