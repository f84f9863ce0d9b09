/**
 * The SQL dialects the KPI models run in: DuckDB (local compute) and Snowflake (warehouse
 * compute, KPI_COMPUTE=warehouse). One set of `.sql` files serves both; the few spots
 * where the two differ are marked in the SQL as `@name(args)` (or a bare `@name`), and
 * each dialect renders a mark its own way. The DuckDB rendering is the SQL as it was
 * written before the marks, so local compute runs exactly the same statements.
 *
 * The marks (the whole list: an unknown mark is an error at load time):
 *   @epoch_us(t)          microseconds since the epoch of a naive timestamp
 *   @timestamp_us(us)     the naive timestamp of epoch microseconds
 *   @add_us(t, us)        a timestamp plus microseconds
 *   @add_days(d, n)       a date plus n days (n may be negative)
 *   @strftime(t, 'fmt')   a timestamp as text (strftime tokens %Y %m %d %H %M %S)
 *   @dayname(d)           the English weekday name (Monday...)
 *   @quantiles(x, p, q)   the p and q continuous quantiles of x as one value...
 *   @quantile_item(v, i)  ...and its i-th (1-based) as a DOUBLE
 *   @series(n)            a relation of one column i = 0..n-1 (n a literal)
 *   @materialized         a CTE hint (DuckDB: computed once)
 *   @rowid                a row's key (DuckDB: rowid; Snowflake: the row_key column its build gave it)
 *   @asof_left_join(t, eq, cond)  an ASOF join of t keeping unmatched rows (cond: the inequality)
 *
 * Types: the DuckDB ENUM vocabularies (kpi_priority, kpi_outcome...) are VARCHAR in
 * Snowflake; `::kpi_<name>` casts render as `::VARCHAR`.
 *
 * Generated fragments (clean.ts, policyRows.ts...) take a Dialect and call its helpers.
 *
 * `snowflakeToDuckdb` maps the Snowflake rendering back to DuckDB: the fake Snowflake in
 * test/ (and the warehouse bench) runs what the project sends on DuckDB through it.
 */

export type DialectName = 'duckdb' | 'snowflake';

/** The DuckDB ENUM types: vocabulary_types.sql's, and the policy names (policyRows.ts policyTypeSql). */
const ENUM_TYPES = new Set(['kpi_priority', 'kpi_priority_label', 'kpi_status_family', 'kpi_outcome', 'kpi_policy']);

export interface Dialect {
  readonly name: DialectName;
  /** An SQL string literal (Snowflake's literals treat a backslash as an escape). */
  lit(value: string): string;
  /** Fills the `@name(...)` marks of a `.sql` file's text. */
  render(sql: string): string;
  /** Microseconds since the epoch of a naive timestamp expression. */
  epochUs(t: string): string;
  /** The naive timestamp of an epoch-microseconds expression. */
  timestampUs(us: string): string;
  /** A naive timestamp plus microseconds. */
  addUs(t: string, us: string): string;
  /** The statement that sets the session's time zone. */
  sessionTimeZone(tz: string): string;
  /** A TIMESTAMPTZ (DuckDB) / TIMESTAMP_TZ or _LTZ (Snowflake) as naive UTC. */
  utcOf(instant: string): string;
  /** A naive timestamp (a wall clock in `tz`, the session's time zone) as naive UTC. */
  utcOfWall(wall: string, tz: string): string;
  /** Text as an instant (an offset wins, naive text in the session zone); NULL when it does not parse. */
  tryInstant(text: string): string;
  starts(s: string, prefix: string): string;
  ends(s: string, suffix: string): string;
  /** Position (1-based) of `value` among `keys` (text literals), NULL when absent. */
  position(keys: string[], value: string): string;
  /** The `values` entry at a 1-based position expression, typed as `type` (an ENUM in DuckDB). */
  valueAt(values: string[], pos: string, type: string): string;
  /** A key unique to each row of a table being created (no order implied). */
  rowKey(): string;
}

/** Splits `a, (b, c), 'd,e'` at its top-level commas. */
export function splitArgs(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      cur += ch;
      if (ch === quote) quote = null;
      continue;
    }
    if (ch === '\'' || ch === '"') quote = ch;
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    if (depth === 0 && ch === ',') {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

/** Index of the parenthesis closing the one at `open`, skipping quoted text. */
export function closingParen(s: string, open: number): number {
  let depth = 0;
  let quote: string | null = null;
  for (let i = open; i < s.length; i++) {
    const ch = s[i];
    if (quote) { if (ch === quote) quote = null; continue; }
    if (ch === '\'' || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parentheses in: ${s.slice(open, open + 80)}`);
}

/**
 * Replaces each call `name(args)` (name matched case-insensitively as a whole word, outside
 * quotes and comments) by `f(args)`, innermost calls first.
 */
export function replaceCalls(sql: string, name: string, f: (args: string[]) => string): string {
  const re = new RegExp(`(^|[^\\w.@])(${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')})\\s*\\(`, 'gi');
  let out = sql;
  for (;;) {
    const spans = codeSpans(out);
    let found: { start: number; open: number } | undefined;
    re.lastIndex = 0;
    for (let m = re.exec(out); m; m = re.exec(out)) {
      const start = m.index + m[1].length;
      if (spans(start)) found = { start, open: m.index + m[0].length - 1 };
    }
    // The last match is innermost or independent: its arguments hold no unreplaced call.
    if (!found) return out;
    const close = closingParen(out, found.open);
    out = out.slice(0, found.start) + f(splitArgs(out.slice(found.open + 1, close))) + out.slice(close + 1);
  }
}

/** A test of whether a position is in code (not in a string, quoted name or `--` comment). */
function codeSpans(s: string): (pos: number) => boolean {
  const inCode: boolean[] = new Array(s.length).fill(true);
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '\'' || ch === '"') {
      const j = s.indexOf(ch, i + 1);
      const end = j < 0 ? s.length - 1 : j;
      for (let k = i; k <= end; k++) inCode[k] = false;
      i = end;
    } else if (ch === '-' && s[i + 1] === '-') {
      const j = s.indexOf('\n', i);
      const end = j < 0 ? s.length - 1 : j;
      for (let k = i; k <= end; k++) inCode[k] = false;
      i = end;
    }
  }
  return (pos) => inCode[pos] ?? false;
}

/** The statements of a script, split at the semicolons outside strings and comments. */
export function splitStatements(sql: string): string[] {
  const inCode = codeSpans(sql);
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < sql.length; i++) {
    if (sql[i] === ';' && inCode(i)) {
      out.push(sql.slice(start, i));
      start = i + 1;
    }
  }
  out.push(sql.slice(start));
  // A piece of only comments is no statement.
  return out.map((s) => s.trim()).filter((s) => s.replace(/--.*$/gm, '').trim() !== '');
}

type MarkRenderer = (args: string[]) => string;

function renderMarks(sql: string, marks: Record<string, MarkRenderer>, bare: Record<string, string>): string {
  let out = sql;
  for (const [name, f] of Object.entries(marks)) out = replaceCalls(out, `@${name}`, f);
  const inCode = codeSpans(out);
  return out.replace(/@(\w+)\b/g, (all, name: string, at: number) => {
    if (!inCode(at)) return all;
    if (name in bare) return bare[name];
    throw new Error(`unknown dialect mark ${all} in: ${sql.slice(0, 80)}`);
  });
}

/** strftime format -> Snowflake TO_CHAR format. */
const SF_FORMAT: Record<string, string> = { '%Y': 'YYYY', '%m': 'MM', '%d': 'DD', '%H': 'HH24', '%M': 'MI', '%S': 'SS' };

export function snowflakeFormat(strftime: string): string {
  // Literal text goes in double quotes inside a Snowflake format.
  return strftime.split(/(%[A-Za-z])/).filter(Boolean).map((part) => {
    if (part.startsWith('%')) {
      const f = SF_FORMAT[part];
      if (!f) throw new Error(`no Snowflake format for ${part}`);
      return f;
    }
    return /^[-: ]+$/.test(part) ? part : `"${part}"`;
  }).join('');
}

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const duckLit = (v: string) => `'${v.replace(/'/g, "''")}'`;
const sfLit = (v: string) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

export const DUCKDB: Dialect = {
  name: 'duckdb',
  lit: duckLit,
  render: (sql) => renderMarks(sql, {
    epoch_us: ([t]) => `epoch_us(${t})`,
    timestamp_us: ([us]) => `make_timestamp(${us})`,
    add_us: ([t, us]) => `${t} + to_microseconds(${us})`,
    add_days: ([d, n]) => `CAST(${d} + CAST(${n} AS INTEGER) AS DATE)`,
    strftime: ([t, f]) => `strftime(${t}, ${f})`,
    dayname: ([d]) => `dayname(${d})`,
    quantiles: ([x, ...ps]) => `quantile_cont(${x}, [${ps.join(', ')}])`,
    quantile_item: ([v, i]) => `${v}[${i}]`,
    series: ([n]) => `range(${n}) r(i)`,
    asof_left_join: ([t, eq, cond]) => `ASOF LEFT JOIN ${t} ON ${eq} AND ${cond}`,
  }, { materialized: 'MATERIALIZED', rowid: 'rowid' }),
  epochUs: (t) => `epoch_us(${t})`,
  timestampUs: (us) => `make_timestamp(${us})`,
  addUs: (t, us) => `${t} + to_microseconds(${us})`,
  sessionTimeZone: (tz) => `SET TimeZone = ${duckLit(tz)}`,
  rowKey: () => 'row_number() OVER ()',
  utcOf: (x) => `make_timestamp(epoch_us(${x}))`,
  utcOfWall: (x) => `make_timestamp(epoch_us(CAST(CAST(${x} AS TIMESTAMP) AS TIMESTAMPTZ)))`,
  tryInstant: (x) => `try_cast(${x} AS TIMESTAMPTZ)`,
  starts: (s, p) => `starts_with(${s}, ${p})`,
  ends: (s, p) => `ends_with(${s}, ${p})`,
  position: (keys, v) => `list_position([${keys.map(duckLit).join(', ')}], ${v})`,
  valueAt: (values, pos, type) => `CAST([${values.map(duckLit).join(', ')}] AS ${type}[])[${pos}]`,
};

export const SNOWFLAKE: Dialect = {
  name: 'snowflake',
  lit: sfLit,
  render: (sql) => renderMarks(sql, {
    epoch_us: ([t]) => `DATE_PART(EPOCH_MICROSECOND, ${t})`,
    timestamp_us: ([us]) => `TO_TIMESTAMP_NTZ(${us}, 6)`,
    add_us: ([t, us]) => `DATEADD(MICROSECOND, ${us}, ${t})`,
    add_days: ([d, n]) => `DATEADD(DAY, ${n}, ${d})::DATE`,
    strftime: ([t, f]) => `TO_CHAR(${t}, ${sfLit(snowflakeFormat(f.slice(1, -1).replace(/''/g, "'")))})`,
    dayname: ([d]) => `DECODE(DAYOFWEEKISO(${d}), ${WEEKDAYS.map((w, i) => `${i + 1}, '${w}'`).join(', ')})`,
    quantiles: ([x, ...ps]) => `ARRAY_CONSTRUCT(${ps.map((p) => `PERCENTILE_CONT(${p}) WITHIN GROUP (ORDER BY ${x})`).join(', ')})`,
    quantile_item: ([v, i]) => `GET(${v}, ${Number(i) - 1})::DOUBLE`,
    series: ([n]) => `(SELECT ROW_NUMBER() OVER (ORDER BY SEQ4()) - 1 AS i FROM TABLE(GENERATOR(ROWCOUNT => ${n}))) AS r`,
    asof_left_join: ([t, eq, cond]) => `ASOF JOIN ${t} MATCH_CONDITION(${cond}) ON ${eq}`,
  }, { materialized: '', rowid: 'row_key' }).replace(/\bCREATE OR REPLACE TEMP (TABLE|VIEW)\b/g, 'CREATE OR REPLACE TEMPORARY $1').replace(/::(kpi_\w+)\b/g, (all, t: string) => {
    if (!ENUM_TYPES.has(t)) throw new Error(`unknown type ${t}`);
    return '::VARCHAR';
  }),
  epochUs: (t) => `DATE_PART(EPOCH_MICROSECOND, ${t})`,
  timestampUs: (us) => `TO_TIMESTAMP_NTZ(${us}, 6)`,
  addUs: (t, us) => `DATEADD(MICROSECOND, ${us}, ${t})`,
  sessionTimeZone: (tz) => `ALTER SESSION SET TIMEZONE = ${sfLit(tz)}`,
  rowKey: () => 'SEQ8()',
  utcOf: (x) => `CONVERT_TIMEZONE('UTC', ${x})::TIMESTAMP_NTZ`,
  utcOfWall: (x, tz) => `CONVERT_TIMEZONE(${sfLit(tz)}, 'UTC', ${x}::TIMESTAMP_NTZ)`,
  tryInstant: (x) => `TRY_TO_TIMESTAMP_TZ(${x})`,
  starts: (s, p) => `STARTSWITH(${s}, ${p})`,
  ends: (s, p) => `ENDSWITH(${s}, ${p})`,
  position: (keys, v) => `CASE ${v} ${keys.map((k, i) => `WHEN ${sfLit(k)} THEN ${i + 1}`).join(' ')} END`,
  valueAt: (values, pos) => `CASE ${pos} ${values.map((k, i) => `WHEN ${i + 1} THEN ${sfLit(k)}`).join(' ')} END`,
};

export function dialectOf(name: DialectName): Dialect {
  return name === 'snowflake' ? SNOWFLAKE : DUCKDB;
}

/**
 * Test shim: the Snowflake rendering back to DuckDB, so that a DuckDB database can stand in
 * for the warehouse (test/fakes/snowflakeServer.ts). Only the Snowflake-only spellings the
 * project sends are mapped; anything else goes through unchanged.
 */
export function snowflakeToDuckdb(sql: string): string {
  let out = sql;
  const fromFormat = (f: string) => {
    const inner = f.slice(1, -1);
    return duckLit(inner.replace(/"([^"]*)"|YYYY|MM|DD|HH24|MI|SS/g, (m, quoted: string | undefined) => quoted ?? { YYYY: '%Y', MM: '%m', DD: '%d', HH24: '%H', MI: '%M', SS: '%S' }[m]!));
  };
  out = out.replace(/TABLE\(GENERATOR\(ROWCOUNT => (\d+)\)\)/g, 'range($1)').replace(/ORDER BY SEQ4\(\)/g, 'ORDER BY range');
  out = out.replace(/\bTEMPORARY\b/g, 'TEMP');
  // Snowflake's ASOF JOIN keeps unmatched left rows, as DuckDB's ASOF LEFT JOIN does.
  out = out.replace(/\bASOF JOIN (\w+ \w+) MATCH_CONDITION\(([^()]*)\) ON ([^;]*)/g, 'ASOF LEFT JOIN $1 ON $3 AND $2');
  const calls: Record<string, MarkRenderer> = {
    DATE_PART: ([unit, t]) => { if (unit !== 'EPOCH_MICROSECOND') throw new Error(`shim: DATE_PART ${unit}`); return `epoch_us(${t})`; },
    TO_TIMESTAMP_NTZ: ([us, scale]) => { if (scale !== '6') throw new Error('shim: TO_TIMESTAMP_NTZ scale'); return `make_timestamp(CAST(${us} AS BIGINT))`; },
    DATEADD: ([unit, n, t]) => unit === 'MICROSECOND' ? `(${t} + to_microseconds(CAST(${n} AS BIGINT)))` : unit === 'DAY' ? `(${t} + CAST(${n} AS INTEGER))` : (() => { throw new Error(`shim: DATEADD ${unit}`); })(),
    TO_CHAR: ([t, f]) => `strftime(${t}, ${fromFormat(f)})`,
    DAYOFWEEKISO: ([d]) => `isodow(${d})`,
    DECODE: ([x, ...pairs]) => `CASE ${x} ${pairs.map((p, i) => (i % 2 === 0 ? `WHEN ${p}` : `THEN ${p}`)).join(' ')} END`,
    ARRAY_CONSTRUCT: (xs) => `list_value(${xs.join(', ')})`,
    GET: ([v, i]) => `list_extract(${v}, ${Number(i) + 1})`,
    CONVERT_TIMEZONE: (a) => a.length === 2 ? `timezone(${a[0]}, ${a[1]})` : `timezone(${a[1]}, timezone(${a[0]}, ${a[2]}))`,
    TRY_TO_TIMESTAMP_TZ: ([x]) => `try_cast(${x} AS TIMESTAMPTZ)`,
    STARTSWITH: ([s, p]) => `starts_with(${s}, ${p})`,
    ENDSWITH: ([s, p]) => `ends_with(${s}, ${p})`,
    TO_VARCHAR: ([x]) => `CAST(${x} AS VARCHAR)`,
    SEQ8: () => 'row_number() OVER ()',
  };
  for (const [name, f] of Object.entries(calls)) out = replaceCalls(out, name, f);
  // CONVERT_TIMEZONE('UTC', x) of an instant gives TIMESTAMPTZ in DuckDB's timezone(): as
  // naive UTC it is already a TIMESTAMP; a following ::TIMESTAMP_NTZ is a plain cast.
  out = out.replace(/::TIMESTAMP_NTZ\b/g, '::TIMESTAMP').replace(/\bTIMESTAMP_NTZ\b/g, 'TIMESTAMP');
  // Snowflake string literals take backslash escapes; DuckDB's do not.
  out = out.replace(/'(?:[^'\\]|\\.|'')*'/g, (s) => s.replace(/\\\\/g, '\\'));
  return out;
}
