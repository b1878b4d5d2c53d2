import { runService } from '../../lib/server.js';
import { buildApp } from './app.js';

await runService('book-api', buildApp);
