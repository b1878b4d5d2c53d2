// Runs before anything else on `npm start`, in plain JavaScript, so an old Node gets a sentence, not a stack trace.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18) || (major === 23 && minor < 6)) {
  console.error(
    `This project needs Node.js 24 LTS (at least 22.18); this is Node ${process.versions.node}.\n` +
      'Install Node 24 (https://nodejs.org, or `nvm install 24`, or `npm install --prefix ~/node24 node@24` and put ' +
      '~/node24/node_modules/.bin first on PATH), or run the stage with Docker: `docker compose up`.',
  );
  process.exit(1);
}
