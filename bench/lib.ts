/** What every benchmark script shares: paths, the pipeline benchmark's as_of, arguments, medians. */
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..');
export const OUT = join(ROOT, 'bench/out');
/** The instant the generated demo data is relative to, and the runs describe. */
export const AS_OF = '2026-11-23T12:00:00Z';

/** `--name value` from the command line, or the default. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

/** The median (the mean of the two middle values for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
