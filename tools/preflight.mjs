// Runs first on the root's `npm start` and `npm test`, in plain JavaScript so that an old Node gets a sentence,
// not a stack trace. With --install (for `npm test`) it then installs the root's own tools when they are missing
// or out of date; `npm start` needs none of them.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

// The root's scripts are .ts files run by Node itself: that needs type stripping on by default, which came in
// Node 22.18 and 23.6. `engines` in package.json says the same.
const [major, minor] = process.versions.node.split('.').map(Number);
const stripsTypes = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
if (!stripsTypes) {
  console.error(
    'This project needs Node.js 24 LTS (at least 22.18, or 23.6 in the 23 line); ' +
      `this is Node ${process.versions.node}.\n` +
      'Install Node 24 (https://nodejs.org, or `nvm install 24`, or `npm install --prefix ~/node24 node@24` and put ' +
      '~/node24/node_modules/.bin first on PATH), or run a stage with Docker: `cd demo01 && docker compose up`.',
  );
  process.exit(1);
}

const installed = 'node_modules/.package-lock.json';
if (!process.argv.includes('--install')) process.exit(0);
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync('package-lock.json').mtimeMs) {
  console.log('installing the root tools (npm ci)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
}
