import { readFileSync } from 'node:fs';

/** The stage's identity, read from stage.json: the one place the stage number is written. */
export interface Stage {
  stage: string;
  number: number;
  title: string;
}

const raw = JSON.parse(readFileSync(new URL('../../stage.json', import.meta.url), 'utf8')) as Stage;

export const stage: Stage = { stage: raw.stage, number: raw.number, title: raw.title };
