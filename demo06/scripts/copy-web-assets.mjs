// Copies the storefront's static assets (everything in src/web that is not TypeScript) to dist/web, next to the
// JavaScript that `tsc -p tsconfig.web.json` writes there. Part of `npm run build`.
import { copyFileSync, cpSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
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

// Swagger UI renders the API page; served from here, not a CDN, so the page works offline.
const swaggerUi = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const vendor = join(to, 'vendor', 'swagger-ui');
mkdirSync(vendor, { recursive: true });
for (const [file, as] of [
  ['swagger-ui-bundle.js', 'swagger-ui-bundle.js'],
  ['swagger-ui-bundle.js.LICENSE.txt', 'swagger-ui-bundle.js.LICENSE.txt'],
  ['swagger-ui.css', 'swagger-ui.css'],
  ['LICENSE', 'LICENSE.txt'],
  ['NOTICE', 'NOTICE.txt'],
]) {
  copyFileSync(join(swaggerUi, file), join(vendor, as));
}
console.log('copy-web-assets: swagger-ui-dist -> dist/web/vendor/swagger-ui');
