// `npm run build` (and so `prepare`, which npm runs on `npm install`, `npm ci` and `npm pack`):
// compile the TypeScript sources to dist/ with tsc, then copy the files tsc does not emit (the
// inspector's page assets). Incremental: a build with nothing changed takes about a second.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
try {
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' });
} catch {
  process.stderr.write('pagerace build: tsc failed (see above)\n');
  process.exit(1);
}
for (const asset of ['inspect/html/client.js', 'inspect/html/style.css']) {
  mkdirSync(join(root, 'dist', dirname(asset)), { recursive: true });
  copyFileSync(join(root, asset), join(root, 'dist', asset));
}
