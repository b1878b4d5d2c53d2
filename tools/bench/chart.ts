// Bar charts as plain SVG, drawn by hand (no chart library): horizontal bars in labelled groups, each group on
// its own scale or a shared one, with the value written at the end of every bar.

export interface Bar {
  label: string;
  value: number | undefined;
  /** written after the value, e.g. `0.12× node:http` */
  note?: string;
  colour: string;
}

export interface Group {
  title: string;
  bars: Bar[];
  /** groups with the same scale key share one scale (the largest value among them) */
  scale: string;
}

export const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const PALETTE = [
  '#2f6db5',
  '#d9822b',
  '#3a9b5c',
  '#b23a48',
  '#7b5ea7',
  '#8c6d46',
  '#c7509b',
  '#5f7d8c',
];
export const BASELINE_COLOUR = '#9aa0a6';

const fmt = (v: number) =>
  Math.round(v)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ');

/** A horizontal grouped bar chart. `unit` is written after each value (e.g. `req/s`). */
export function barChart(options: {
  title: string;
  subtitle?: string;
  unit: string;
  groups: Group[];
}): string {
  const width = 860;
  const labelWidth = 190;
  const barArea = 400;
  const barHeight = 18;
  const gap = 6;
  const groupGap = 22;
  const left = 16;
  const maxByScale = new Map<string, number>();
  for (const group of options.groups) {
    for (const bar of group.bars) {
      maxByScale.set(group.scale, Math.max(maxByScale.get(group.scale) ?? 0, bar.value ?? 0));
    }
  }
  const parts: string[] = [];
  let y = 30;
  parts.push(
    `<text x="${left}" y="${y}" font-size="17" font-weight="bold">${escapeXml(options.title)}</text>`,
  );
  if (options.subtitle) {
    y += 20;
    parts.push(`<text x="${left}" y="${y}" font-size="12" fill="#555">${escapeXml(options.subtitle)}</text>`);
  }
  y += 14;
  for (const group of options.groups) {
    y += groupGap;
    parts.push(
      `<text x="${left}" y="${y}" font-size="13" font-weight="bold">${escapeXml(group.title)}</text>`,
    );
    y += 8;
    const max = maxByScale.get(group.scale) || 1;
    for (const bar of group.bars) {
      const w = bar.value === undefined ? 0 : Math.max(1, (bar.value / max) * barArea);
      const text =
        bar.value === undefined
          ? 'not measured'
          : `${fmt(bar.value)} ${options.unit}${bar.note ? ` · ${bar.note}` : ''}`;
      parts.push(
        `<text x="${left + labelWidth - 8}" y="${y + barHeight - 5}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`,
        `<rect x="${left + labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${bar.colour}" rx="2"/>`,
        `<text x="${(left + labelWidth + w + 6).toFixed(1)}" y="${y + barHeight - 5}" font-size="12" fill="#222">${escapeXml(text)}</text>`,
      );
      y += barHeight + gap;
    }
  }
  const height = y + 16;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
