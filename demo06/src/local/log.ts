/**
 * How `npm start` shows the services' JSON log lines in a terminal: one short line per request, other lines as
 * level, message and their own fields. Containers keep the JSON. A formatter for exactly these lines is a few
 * lines of code, so it is written here rather than brought in as a dependency (pino-pretty).
 */

type Entry = Record<string, unknown>;

/** Fields every line has, or that the label in front of the line already says. */
const implied = new Set(['level', 'time', 'msg', 'service', 'instance', 'pid', 'hostname', 'ts', 'caller']);
const levelColours: Record<string, number> = { debug: 90, info: 36, warn: 33, error: 31, fatal: 31 };

const paint = (code: number, text: string, colour: boolean) =>
  colour ? `\x1b[${code}m${text}\x1b[0m` : text;

const statusColour = (status: number) => (status >= 500 ? 31 : status >= 400 ? 33 : 32);

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

/** One log line, readable; a line that is not a JSON object comes back unchanged. */
export function readable(line: string, colour: boolean): string {
  if (!line.startsWith('{')) return line;
  let entry: Entry;
  try {
    entry = JSON.parse(line) as Entry;
  } catch {
    return line;
  }
  if (entry.msg === 'request' && typeof entry.method === 'string') {
    const status = Number(entry.status);
    return `${entry.method} ${String(entry.path ?? entry.route)} ${paint(statusColour(status), String(status), colour)} ${String(entry.durationMs)} ms`;
  }
  const level = typeof entry.level === 'string' ? entry.level : 'info';
  const err = entry.err as { message?: unknown; stack?: unknown } | undefined;
  const fields = Object.entries(entry)
    .filter(([key]) => !implied.has(key))
    .map(([key, v]) => `${key}=${value(key === 'err' && err?.message !== undefined ? err.message : v)}`);
  const text = [paint(levelColours[level] ?? 0, level.padEnd(5), colour), String(entry.msg ?? ''), ...fields]
    .filter(Boolean)
    .join(' ');
  // An unexpected error keeps its stack, indented under the line.
  return typeof err?.stack === 'string' ? `${text}\n${err.stack.replace(/^/gm, '    ')}` : text;
}

/**
 * Writes what the relays hand it in one write per turn of the event loop, not one per line, and pauses the
 * relayed streams while the terminal cannot keep up (so the runner's memory stays bounded).
 */
export class Batch {
  private parts: string[] = [];
  private scheduled = false;
  private readonly sources = new Set<NodeJS.ReadableStream>();
  private readonly out: NodeJS.WritableStream;

  constructor(out: NodeJS.WritableStream) {
    this.out = out;
  }

  add(text: string, from: NodeJS.ReadableStream): void {
    this.sources.add(from);
    this.parts.push(text);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    if (this.out.write(text)) return;
    for (const source of this.sources) source.pause();
    this.out.once('drain', () => {
      for (const source of this.sources) source.resume();
    });
  }
}

/** Relays a child's output line by line, each line readable and behind `label`. */
export function relay(stream: NodeJS.ReadableStream, label: string, batch: Batch, colour: boolean): void {
  let pending = '';
  const show = (line: string) => `${label}${readable(line, colour).replaceAll('\n', `\n${label}`)}\n`;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    let end = chunk.indexOf('\n');
    if (end === -1) {
      pending += chunk;
      return;
    }
    // Only the unfinished last line is kept between chunks; each chunk becomes one piece of the batch.
    let text = show(pending + chunk.slice(0, end));
    let start = end + 1;
    while ((end = chunk.indexOf('\n', start)) !== -1) {
      text += show(chunk.slice(start, end));
      start = end + 1;
    }
    pending = chunk.slice(start);
    batch.add(text, stream);
  });
  stream.on('end', () => {
    if (pending) batch.add(show(pending), stream);
    pending = '';
  });
}
