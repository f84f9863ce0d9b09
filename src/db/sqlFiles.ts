/**
 * SQL lives in `.sql` files beside the code that runs it (src/kpi/staging, src/kpi/models),
 * named for what they produce. This loader reads them (once each) and fills their
 * `{{placeholders}}`: the few fragments that must be generated (time-zone offset segments,
 * the source's column expressions, run literals) come from small named functions.
 *
 * The build copies every `.sql` file into dist/ with the same relative path, so the same
 * names resolve from the sources (tsx, jest), from dist/ (tsc) and from the bundle.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DUCKDB, type Dialect } from './dialect';

/** The folder that holds kpi/ (src/ or dist/): the bundle sits in dist/ itself. */
const ROOT = existsSync(join(__dirname, '..', 'kpi')) ? join(__dirname, '..') : __dirname;

const cache = new Map<string, string>();

/** The text of a `.sql` file, by its path under src/ (e.g. `kpi/models/sla_summary.sql`). */
export function sqlText(path: string): string {
  let text = cache.get(path);
  if (text === undefined) {
    text = readFileSync(join(ROOT, path), 'utf8').replace(/\s+$/, '');
    cache.set(path, text);
  }
  return text;
}

const rendered = new Map<string, string>();

/** A `.sql` file's text with its dialect marks (`@name(...)`, dialect.ts) rendered for a dialect. */
export function dialectText(path: string, dialect: Dialect): string {
  const key = `${dialect.name}:${path}`;
  let text = rendered.get(key);
  if (text === undefined) {
    text = dialect.render(sqlText(path));
    rendered.set(key, text);
  }
  return text;
}

/**
 * A `.sql` file with its `{{name}}` placeholders filled, in a dialect (default DuckDB).
 * Every placeholder must be given and every value used: a missing or misspelt one is a
 * programming error, caught at once.
 */
export function sqlFile(path: string, vars: Record<string, string | number> = {}, dialect: Dialect = DUCKDB): string {
  const used = new Set<string>();
  const out = dialectText(path, dialect).replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    if (!(name in vars)) throw new Error(`${path}: no value for {{${name}}}`);
    used.add(name);
    return String(vars[name]);
  });
  const unused = Object.keys(vars).filter((k) => !used.has(k));
  if (unused.length) throw new Error(`${path}: no placeholder for ${unused.join(', ')}`);
  return out;
}
