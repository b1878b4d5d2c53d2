import { execFileSync } from 'node:child_process';

/** Process tests run the compiled services, exactly as `npm start` and the containers do. */
export default function build() {
  execFileSync('npm', ['run', '-s', 'build'], { stdio: 'inherit', cwd: new URL('../..', import.meta.url) });
}
