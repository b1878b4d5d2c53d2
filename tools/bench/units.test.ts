import { describe, expect, it } from 'vitest';
import { bodyFor } from './bodies.ts';
import { barChart, escapeXml } from './chart.ts';
import type { CannonResult } from './load-worker.ts';
import { growth, memoryMisses, type Raw, type StageRun, summarise } from './model.ts';
import { PATH_TITLES, PATHS, setUpPath } from './paths.ts';
import { nameOf } from './procs.ts';
import { BEGIN, END, markdown, mergeIntoDocument, throughputChart } from './report.ts';
import { repoRoot } from '../stage/stages.ts';
import { copyIn, findScenarios, stagesOf } from './scenarios/index.ts';
import { analyseKill, names } from './scenarios/kit.ts';
import { formatCount, formatMs, formatRatio, median, ratio, rotate } from './stats.ts';
import { xmlProblems } from './xml-check.ts';

describe('stats', () => {
  it('takes the median of odd and even counts, ignoring what is not a number', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([5, Number.NaN])).toBe(5);
    expect(median([])).toBeUndefined();
  });

  it('gives ratios only when both sides are known', () => {
    expect(ratio(50, 200)).toBe(0.25);
    expect(ratio(undefined, 200)).toBeUndefined();
    expect(ratio(50, 0)).toBeUndefined();
  });

  it('writes numbers the way the report shows them', () => {
    expect(formatRatio(0.0456)).toBe('0.046×');
    expect(formatRatio(1.26)).toBe('1.3×');
    expect(formatRatio(12.4)).toBe('12×');
    expect(formatRatio(undefined)).toBe('–');
    expect(formatCount(1234567.4)).toBe('1 234 567');
    expect(formatMs(0.421)).toBe('0.42');
    expect(formatMs(3.14)).toBe('3.1');
    expect(formatMs(1234)).toBe('1 234');
  });

  it('rotates the order of a round so that no unit always goes first', () => {
    expect(rotate(['a', 'b', 'c'], 0)).toEqual(['a', 'b', 'c']);
    expect(rotate(['a', 'b', 'c'], 1)).toEqual(['b', 'c', 'a']);
    expect(rotate(['a', 'b', 'c'], 4)).toEqual(['b', 'c', 'a']);
  });
});

describe('bodies', () => {
  it('are valid by the contract and differ from one request to the next', () => {
    const a = JSON.parse(bodyFor('book', 1) ?? '');
    const b = JSON.parse(bodyFor('book', 2) ?? '');
    expect(a.title).not.toBe(b.title);
    for (const book of [a, b]) {
      expect(book.year).toBeGreaterThanOrEqual(1450);
      expect(book.year).toBeLessThanOrEqual(2100);
      expect(Math.round(book.price * 100)).toBeCloseTo(book.price * 100);
    }
    const items = [
      { type: 'book', id: 1 },
      { type: 'cd', id: 2 },
    ];
    expect(JSON.parse(bodyFor('cart-item', 1, items) ?? '')).toEqual({ type: 'cd', id: 2, quantity: 1 });
    expect(bodyFor('none', 1)).toBeUndefined();
  });
});

describe('processes', () => {
  it('are named by their service, or by their program', () => {
    expect(
      nameOf(['/usr/bin/node', '--enable-source-maps', '/x/demo01/dist/services/book-api/main.js']),
    ).toBe('book-api');
    expect(nameOf(['/usr/bin/etcd', '--data-dir', '/tmp/x'])).toBe('etcd');
  });
});

describe('chart', () => {
  it('is well-formed SVG, with the text escaped', () => {
    const svg = barChart({
      title: 'A & B <test>',
      unit: 'req/s',
      groups: [
        {
          title: 'g1',
          scale: 's',
          bars: [{ label: 'x "quoted"', value: 10, colour: '#000', note: '1× <a>' }],
        },
        { title: 'g2', scale: 's', bars: [{ label: 'y', value: undefined, colour: '#000' }] },
      ],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain('A &amp; B &lt;test&gt;');
    expect(svg).toContain('not measured');
  });

  it('the check itself catches what is not well-formed', () => {
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg><text>a & b</text></svg>')).not.toEqual([]);
    expect(xmlProblems('<svg/><svg/>')).not.toEqual([]);
    expect(xmlProblems('<svg><rect x="1"/></svg>')).toEqual([]);
  });
});

describe('the report document', () => {
  it('replaces only the generated block, keeping the hand-written text around it', () => {
    const doc = `# Title\n\nhand-written\n\n${BEGIN}\nold figures\n${END}\n\n## After\nmore\n`;
    const merged = mergeIntoDocument(doc, 'new figures');
    expect(merged).toContain('hand-written');
    expect(merged).toContain('## After\nmore');
    expect(merged).toContain('new figures');
    expect(merged).not.toContain('old figures');
    expect(mergeIntoDocument(undefined, 'fresh')).toContain(`${BEGIN}\n\nfresh\n\n${END}`);
  });
});

describe('scenarios', () => {
  it('are found in the scenarios/ folder of every stage that has them, each stage with its own copy', async () => {
    const kill = (await findScenarios(repoRoot())).find((s) => s.name === 'kill-instance-under-load');
    expect(kill).toBeDefined();
    if (!kill) return;
    expect(stagesOf(kill)[0]).toBe('demo03');
    expect(copyIn(kill, 'demo01')).toBeUndefined();
    expect(copyIn(kill, 'demo03')?.run).toBeTypeOf('function');
  });

  it('kill-instance-under-load reads failures, slowest request and recovery from the records', () => {
    const killAt = 10_000;
    const rec = (start: number, end: number, status: number, servedBy?: string) => ({
      start,
      end,
      status,
      servedBy,
    });
    const records = [
      rec(9_000, 9_010, 201, 'number-api/a'),
      rec(9_010, 9_020, 201, 'number-api/b'),
      rec(9_020, 9_030, 201, 'number-api/c'),
      rec(9_990, 10_050, 201, 'number-api/a'), // answered by the victim after the kill (was in flight)
      rec(10_001, 10_300, 503), // failed after the kill
      rec(10_310, 10_320, 201, 'number-api/b'),
      rec(10_320, 10_330, 201, 'number-api/c'),
      rec(10_330, 10_340, 201, 'number-api/b'),
    ];
    const { figures, notes } = analyseKill(records, killAt, 'a');
    const value = (label: string) => figures.find((f) => f.label.startsWith(label))?.value;
    expect(value('requests sent')).toBe(8);
    expect(value('failed')).toBe(1);
    expect(value('slowest')).toBe(299);
    expect(value('kill → last failure')).toBe(300);
    expect(value('kill → last answer from the killed')).toBe(50);
    expect(value('kill → all traffic on the survivors')).toBe(300);
    expect(notes[0]).toContain('number-api/a 33%');
    expect(notes[1]).not.toContain('number-api/a');
    expect(names('number-api/a', 'a')).toBe(true);
    expect(names('number-api/ab', 'b')).toBe(false);
    expect(names('number-api/a:1, number-api/b:2', 'a:1')).toBe(true);
  });

  it('kill-instance-under-load says so when the run ended before recovery', () => {
    const records = [
      { start: 0, end: 5, status: 201, servedBy: 'number-api/a' },
      { start: 20, end: 30, status: 503 },
    ];
    const { figures } = analyseKill(records, 10, 'a');
    expect(figures.find((f) => f.label.startsWith('kill → all traffic'))?.value).toBe('not within the run');
  });
});

/** autocannon's summary, as the load worker returns it, for `reqPerSec` requests per second over one second. */
const cannon = (reqPerSec: number): CannonResult => ({
  requests: reqPerSec,
  ok: reqPerSec,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  elapsedS: 1,
  reqPerSec,
  latencyMs: { p50: 1, p90: 2, p99: 3, max: 4, mean: 1 },
});

const MiB = 1024;

/** One round of one stage: book-api grows from 60 to 300 MiB, number-api idles at 80 MiB and stays there. */
function rawRun(): Raw {
  const run: StageRun = {
    round: 0,
    position: 0,
    numberApiInstances: 1,
    coldStartMs: 1000,
    idle: { runnerKiB: 50 * MiB, byName: { 'book-api': 60 * MiB, 'number-api': 80 * MiB } },
    afterLoad: { byName: { 'book-api': 300 * MiB, 'number-api': 80 * MiB } },
    paths: {
      'catalog-read': cannon(6000),
      'book-create': cannon(1500),
      'list-after-growth': cannon(40),
      'add-to-cart': cannon(1200),
    },
  };
  return {
    generatedAt: '2026-01-01T00:00:00.000Z',
    machine: { model: '', cpu: 'cpu', cores: 2, memoryMiB: 1024, os: 'linux', node: 'v24.0.0' },
    settings: {
      stages: ['demo01'],
      rounds: 1,
      durationS: 1,
      warmupS: 0,
      connections: 10,
      scenarioDurationS: 9,
    },
    baselines: {
      'node:http': [{ round: 0, position: 0, result: cannon(40_000) }],
      express: [{ round: 0, position: 1, result: cannon(20_000) }],
      'node:http proxy': [{ round: 0, position: 2, result: cannon(24_000) }],
    },
    stages: { demo01: [run] },
    scaled: {},
    images: {},
    scenarios: [],
  };
}

describe('the list after growth path', () => {
  it('runs after the creates and before the carts, on the default page of the catalog', async () => {
    expect(PATHS.indexOf('list-after-growth')).toBe(PATHS.indexOf('book-create') + 1);
    expect(PATHS.indexOf('list-after-growth')).toBeLessThan(PATHS.indexOf('add-to-cart'));
    const list = await setUpPath('demo01', 'list-after-growth', 10);
    const read = await setUpPath('demo01', 'catalog-read', 10);
    expect(list).toEqual(read);
    expect(list).toMatchObject({ path: '/api/books', method: 'GET', body: 'none' });
  });

  it('is summarised with its ratios to the baselines and reported next to the other paths', () => {
    const raw = rawRun();
    const summary = summarise(raw);
    const list = summary.stages.demo01?.paths['list-after-growth'];
    expect(list?.reqPerSec).toBe(40);
    expect(list?.vsExpress).toBe(0.002);
    expect(list?.vsHttp).toBe(0.001);
    const md = markdown(raw, summary);
    for (const path of PATHS) expect(md).toContain(`**${PATH_TITLES[path]}**`);
    const section = md.slice(md.indexOf(PATH_TITLES['list-after-growth']));
    expect(section).toMatch(/\| demo01 \| 40 \| 40 \| 1 \| 3 \| 0\.0010× \| 0\.0020× \| 0 of 40 \|/);
    expect(throughputChart(raw, summary)).toContain(escapeXml(PATH_TITLES['list-after-growth']));
  });

  it("reports the bare proxy's baseline as what one hop keeps of node:http's, the ceiling of a gateway", () => {
    const raw = rawRun();
    const md = markdown(raw, summarise(raw));
    expect(md).toMatch(/\| node:http proxy \| 24\s000 \|/);
    // 40 000 req/s direct, 24 000 through the proxy: 41.7 µs, less 25 µs.
    expect(md).toContain('one hop adds 17 µs to each request here (0.60× of node:http)');
    expect(md).toMatch(/0\.5× only for a path slower than 58\s824 req\/s/);
    expect(throughputChart(raw, summarise(raw))).toContain('0.60× node:http');
  });
});

describe('memory goals', () => {
  it('give each service its after/idle ratio, for the processes measured both times', () => {
    expect(growth({ a: 100, b: 100, c: 100 }, { a: 150, b: 333 })).toEqual({ a: 1.5, b: 3.33 });
    expect(growth({ a: 0 }, { a: 10 })).toEqual({});
  });

  it('name the services that idle above 70 MiB or grow past 1.5× idle', () => {
    expect(
      memoryMisses({
        idleKiB: { ok: 70 * MiB, fat: 71 * MiB, growing: 40 * MiB },
        afterOverIdle: { ok: 1.5, fat: 1, growing: 1.6 },
      }),
    ).toEqual({ idle: ['fat'], growth: ['growing'] });
  });

  it('are shown in the memory table: the ratio per service, flagged where a goal is missed', () => {
    const raw = rawRun();
    const summary = summarise(raw);
    expect(summary.stages.demo01?.afterOverIdle).toEqual({ 'book-api': 5, 'number-api': 1 });
    const md = markdown(raw, summary);
    expect(md).toContain('| process | demo01 idle | demo01 after load | demo01 after/idle |');
    expect(md).toContain('| book-api | 60.0 | 300.0 | 5.0× ⚠ |');
    expect(md).toContain('| number-api | 80.0 ⚠ | 80.0 | 1.0× |');
    expect(md).toContain('| **stage total** | **140.0** | **380.0** | **2.7×** |');
    expect(md).toContain('- demo01: idle above 70 MiB: number-api; more than 1.5× idle after load: book-api');
  });
});
