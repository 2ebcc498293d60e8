/**
 * Before the tests: bring dist/ up to date (`npm run build`, incremental), so that the CLI tests,
 * which run bin/pagerace.js and so the built JavaScript and its worker threads, test these sources.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const script = fileURLToPath(new URL('../scripts/build.js', import.meta.url));
  execFileSync(process.execPath, [script], { stdio: 'inherit' });
}
