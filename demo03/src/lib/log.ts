import type { LogLevel } from './config.js';

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
}

/** One JSON object per line on stdout: easy to grep on stage, easy to ship anywhere later. */
export function createLogger(base: Fields, level: LogLevel = 'info'): Logger {
  const write = (lvl: LogLevel, msg: string, fields?: Fields) => {
    if (rank[lvl] < rank[level]) return;
    process.stdout.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: lvl, ...base, msg, ...fields })}\n`,
    );
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
  };
}
