// Copies the storefront's static assets (everything in src/web that is not TypeScript) to dist/web, next to the
// JavaScript that `tsc -p tsconfig.web.json` writes there. Part of `npm run build`.
import { cpSync, existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const stage = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(stage, 'src', 'web');
const to = join(stage, 'dist', 'web');

if (!existsSync(from)) {
  console.error(`copy-web-assets: ${from} does not exist`);
  process.exit(1);
}

cpSync(from, to, {
  recursive: true,
  filter: (source) => statSync(source).isDirectory() || !source.endsWith('.ts'),
});
console.log('copy-web-assets: src/web -> dist/web (static files)');
