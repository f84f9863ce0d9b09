/**
 * Logging: pino, one JSON line per event, to logs/global_support_pipeline.log (and stderr
 * when asked). Secrets are redacted by key and by value: any configured secret value that
 * ends up in a message is replaced with [redacted].
 */
import pino, { type Logger } from 'pino';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type { Logger };

export const LOG_FILE = 'global_support_pipeline.log';

const secretValues = new Set<string>();

/** Registers secret values (tokens, passwords, keys) so they never reach a log line or message. */
export function registerSecrets(values: (string | undefined)[]): void {
  for (const v of values) if (v && v.length >= 6) secretValues.add(v);
}

/** Replaces any registered secret value, and token-shaped strings, in a text. */
export function redact(text: string): string {
  let out = text;
  for (const s of secretValues) out = out.split(s).join('[redacted]');
  return out
    .replace(/xox[abposr]-[A-Za-z0-9-]+/g, '[redacted]')
    .replace(/xapp-[A-Za-z0-9-]+/g, '[redacted]')
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g, '[redacted]');
}

export interface LoggerOptions {
  dir?: string;
  level?: string;
  /** Also write to stderr (the bot does; the CLI keeps stderr for its own messages). */
  stderr?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const dir = opts.dir ?? 'logs';
  mkdirSync(dir, { recursive: true });
  const streams: pino.StreamEntry[] = [
    { stream: pino.destination({ dest: join(dir, LOG_FILE), append: true, sync: true }) },
  ];
  if (opts.stderr) streams.push({ stream: pino.destination({ dest: 2, sync: true }) });
  return pino(
    {
      level: opts.level ?? 'info',
      base: { app: 'automate-kpi-calc' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['token', 'password', 'privateKey', 'passphrase', '*.token', '*.password', '*.privateKey', 'headers.authorization'],
        censor: '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
      hooks: {
        logMethod(args, method) {
          const clean = args.map((a) => (typeof a === 'string' ? redact(a) : a));
          return method.apply(this, clean as Parameters<typeof method>);
        },
      },
    },
    pino.multistream(streams),
  );
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
