import { describe, expect, it } from 'vitest';
import { bodyFor } from './bodies.ts';
import { barChart } from './chart.ts';
import { nameOf } from './procs.ts';
import { BEGIN, END, mergeIntoDocument } from './report.ts';
import { analyseKill, names } from './scenarios/kill-instance-under-load.ts';
import { SCENARIOS } from './scenarios/index.ts';
import { appliesTo } from './scenarios/runner.ts';
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
  it('apply to their own stage and every later one', () => {
    const kill = SCENARIOS.find((s) => s.name === 'kill-instance-under-load');
    expect(kill).toBeDefined();
    if (!kill) return;
    expect(appliesTo(kill, 'demo01')).toBe(false);
    expect(appliesTo(kill, 'demo03')).toBe(true);
    expect(appliesTo(kill, 'demo07')).toBe(true);
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
