/**
 * Identifiers: names from settings (table, schema, database, warehouse, role) validated and
 * double-quoted before they reach SQL, and column names from Snowflake's own metadata
 * quoted. Nothing typed by a user reaches SQL unquoted.
 */
import type { Settings } from '../../config';
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

/** SNOWFLAKE_TABLE, completed with SNOWFLAKE_SCHEMA / SNOWFLAKE_DATABASE where it has fewer parts, quoted. */
export function qualifiedTable(s: Settings): string {
  const parts = s.SNOWFLAKE_TABLE.trim().match(/"[^"]*"|[^.]+/g) ?? [];
  if (parts.length < 1 || parts.length > 3) {
    throw new SourceError(`Snowflake configuration: SNOWFLAKE_TABLE "${s.SNOWFLAKE_TABLE}" must be TABLE, SCHEMA.TABLE or DATABASE.SCHEMA.TABLE`);
  }
  const quoted = parts.map((p) => quoteSettingIdentifier(p, 'SNOWFLAKE_TABLE'));
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
