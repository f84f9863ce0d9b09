/**
 * Identifiers: names from settings (table, schema, database, warehouse, role) validated and
 * double-quoted before they reach SQL, and column names from Snowflake's own metadata
 * quoted. Nothing typed by a user reaches SQL unquoted.
 */
import type { Settings } from '../../config/settings';
import { SourceError } from '../types';

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,254}$/;
const QUOTED_IDENT = /^"[^"\x00-\x1f]{1,255}"$/;

/** An identifier from settings: NAME (case-insensitive, as Snowflake stores it: upper case) or "Exact Name". */
export function quoteSettingIdentifier(value: string, setting: string): string {
  const v = value.trim();
  if (IDENT.test(v)) return `"${v.toUpperCase()}"`;
  if (QUOTED_IDENT.test(v)) return v;
  throw new SourceError(
    `Snowflake configuration: ${setting} "${value}" is not a valid identifier; use letters, digits, _ and $ ` +
      '(starting with a letter or _), or a double-quoted exact name such as "Support Cases"',
  );
}

/** A column name as Snowflake reports it, quoted exactly. */
export function quoteColumn(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * The dot-separated parts of a qualified name, each NAME or "Exact Name", strictly: an empty
 * part (`a..b`, `.a`), text after a closing quote (`"Support"Cases`) or an unbalanced quote is
 * an error naming `setting`, never rewritten into some other name.
 */
export function splitQualifiedName(value: string, setting: string): string[] {
  const v = value.trim();
  const bad = (why: string) => new SourceError(
    `Snowflake configuration: ${setting} "${value}" is not a valid name (${why}); write TABLE, SCHEMA.TABLE or DATABASE.SCHEMA.TABLE, ` +
      'each part a name of letters, digits, _ and $ or a double-quoted exact name such as "Support Cases"',
  );
  const parts: string[] = [];
  let i = 0;
  for (;;) {
    let part: string;
    if (v[i] === '"') {
      const close = v.indexOf('"', i + 1);
      if (close < 0) throw bad('unbalanced double quote');
      part = v.slice(i, close + 1);
      i = close + 1;
      if (i < v.length && v[i] !== '.') throw bad(v[i] === '"' ? 'a double quote inside a quoted name' : 'text after a closing double quote');
    } else {
      const dot = v.indexOf('.', i);
      part = v.slice(i, dot < 0 ? v.length : dot);
      i = dot < 0 ? v.length : dot;
      if (part.includes('"')) throw bad('a double quote inside an unquoted name');
    }
    if (part === '' || part === '""') throw bad('an empty part');
    parts.push(part);
    if (i >= v.length) return parts;
    i++; // the dot
    if (i >= v.length) throw bad('an empty part');
  }
}

/** SNOWFLAKE_TABLE (or SNOWFLAKE_HISTORY_TABLE), completed with SNOWFLAKE_SCHEMA / SNOWFLAKE_DATABASE where it has fewer parts, quoted. */
export function qualifiedTable(s: Settings, key: 'SNOWFLAKE_TABLE' | 'SNOWFLAKE_HISTORY_TABLE' = 'SNOWFLAKE_TABLE'): string {
  const value = String(s[key]);
  const parts = splitQualifiedName(value, key);
  if (parts.length > 3) {
    throw new SourceError(`Snowflake configuration: ${key} "${value}" must be TABLE, SCHEMA.TABLE or DATABASE.SCHEMA.TABLE`);
  }
  const quoted = parts.map((p) => quoteSettingIdentifier(p, key));
  if (quoted.length < 3 && s.SNOWFLAKE_SCHEMA) {
    if (quoted.length === 1) quoted.unshift(quoteSettingIdentifier(s.SNOWFLAKE_SCHEMA, 'SNOWFLAKE_SCHEMA'));
    if (s.SNOWFLAKE_DATABASE) quoted.unshift(quoteSettingIdentifier(s.SNOWFLAKE_DATABASE, 'SNOWFLAKE_DATABASE'));
  } else if (quoted.length === 2 && s.SNOWFLAKE_DATABASE) {
    quoted.unshift(quoteSettingIdentifier(s.SNOWFLAKE_DATABASE, 'SNOWFLAKE_DATABASE'));
  } else {
    if (s.SNOWFLAKE_DATABASE) quoteSettingIdentifier(s.SNOWFLAKE_DATABASE, 'SNOWFLAKE_DATABASE');
    if (s.SNOWFLAKE_SCHEMA) quoteSettingIdentifier(s.SNOWFLAKE_SCHEMA, 'SNOWFLAKE_SCHEMA');
  }
  return quoted.join('.');
}

/** Login parameters take names, not SQL: unquoted names as Snowflake stores them, quoted ones exact. */
export function unquote(v: string): string {
  const t = v.trim();
  return t.startsWith('"') ? t.slice(1, -1) : t.toUpperCase();
}
