import { readFileSync } from 'node:fs';
import type { Stage } from './contract.js';

/** The stage's identity, read from stage.json: the one place the stage number is written. */
const raw = JSON.parse(readFileSync(new URL('../../stage.json', import.meta.url), 'utf8')) as Stage;

export const stage: Stage = { stage: raw.stage, number: raw.number, title: raw.title };
