// The workshop's story (which stage this is, what problem comes next) is told in each stage's README.md and
// LAB.md, and the stage's identity is written in its stage.json. Every other file is carried from stage to stage: a
// story sentence in it is wrong one stage later, and shows up in every stage diff. `storyLines` finds them.
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listFiles, STAGE_ORDER } from './stages.ts';

/** The files where the story belongs. */
const STORY_FILES = new Set(['README.md', 'LAB.md', 'stage.json']);

/**
 * A line tells the story when it names a stage (`demo03`, `stage 3`, "this stage", "the next stage") or says what
 * problem comes next. The bare word "stage" is not enough: code reads stage.json, a Dockerfile has build stages,
 * and a speaker is on stage.
 */
const RULES: { what: string; re: RegExp }[] = [
  { what: 'names a stage', re: /\bdemo\d\d\b/i },
  { what: 'names a stage by number', re: /\bstages?\s+#?\d+\b/i },
  {
    what: 'names a stage by its place in the talk',
    re: /\b(?:this|next|previous|prior|earlier|later|following|coming|upcoming) stages?\b/i,
  },
  { what: 'says what problem comes next', re: /\bnext problem\b|\bproblems? (?:it|that|this \w+) leaves\b/i },
  { what: 'says until which stage something lasts', re: /\buntil (?:the )?[\w-]+ stage\b/i },
];

/**
 * "until the gateway" in a stage before the gateway's is the story too. Each capability of a later stage, by the
 * first stage that has it; from that stage on the same words are ordinary code ("until the breaker closes").
 */
const LATER_CAPABILITIES: { from: string; words: string }[] = [
  { from: 'demo02', words: 'registry|etcd' },
  { from: 'demo03', words: 'load balanc\\w*|balancer' },
  { from: 'demo05', words: 'metrics|monitoring|prometheus|grafana' },
  { from: 'demo06', words: 'gateway|jwts?' },
  { from: 'demo07', words: '(?:circuit )?breakers?' },
  { from: 'demo08', words: 'tracing|traces|opentelemetry|zipkin' },
];

function rulesFor(stage: string): { what: string; re: RegExp }[] {
  const at = STAGE_ORDER.indexOf(stage);
  const later = LATER_CAPABILITIES.filter((c) => at < STAGE_ORDER.indexOf(c.from)).map((c) => c.words);
  if (later.length === 0) return RULES;
  return [
    ...RULES,
    {
      what: 'names a capability still to come',
      re: new RegExp(`\\buntil (?:the |an? )?(?:${later.join('|')})\\b`, 'i'),
    },
  ];
}

/**
 * The one place a carried file must name its stage: the image the compose file builds, `microservice-pie/<stage>`.
 * Each stage builds its own image from its own code, and one machine builds several stages (the container tests,
 * the bench): one image name for all would run one stage's code under another's name. The stage is the image's
 * name; its tag is left for a version, so a tag naming a stage is flagged like any other line.
 */
const imageName = (stage: string) => new RegExp(`^(\\s*image:\\s*['"]?)microservice-pie/${stage}\\b`);

export type StoryLine = { path: string; line: number; what: string; text: string };

/** Every line outside README.md, LAB.md and stage.json that tells the story, in one stage folder. */
export function storyLines(stageDir: string, stage: string): StoryLine[] {
  const rules = rulesFor(stage);
  const image = imageName(stage);
  const found: StoryLine[] = [];
  for (const path of listFiles(stageDir)) {
    if (STORY_FILES.has(path) || lstatSync(join(stageDir, path)).isSymbolicLink()) continue;
    const bytes = readFileSync(join(stageDir, path));
    if (bytes.includes(0)) continue; // binary
    bytes
      .toString('utf8')
      .split('\n')
      .forEach((text, i) => {
        const checked = path === 'docker-compose.yml' ? text.replace(image, '$1') : text;
        const rule = rules.find((r) => r.re.test(checked));
        if (rule) found.push({ path, line: i + 1, what: rule.what, text: text.trim() });
      });
  }
  return found;
}
