/**
 * CSV export source: DuckDB's CSV reader, every column read as text (the normaliser parses
 * timestamps, so one bad value is a data-quality defect, not a crash). Column names are
 * mapped with KPI_COLUMN_MAP.
 *
 * The reader is strict: a line that is not valid CSV (an unclosed quote, too few or too
 * many fields, bytes that are not in KPI_CSV_ENCODING) fails the run with the file, the
 * line and DuckDB's reason, so no line is ever dropped silently. With
 * KPI_CSV_ON_ERROR=skip, such lines are skipped and reported (DuckDB's rejects table).
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import type { CsvEncoding, Settings } from '../config/settings';
import { ident, lit, query } from '../db/engine';
import { printable } from '../support/errors';
import { historySelect, mapColumns } from './columns';
import { SourceError, type CaseSource, type LoadedSource, type RejectedLine, type SourceContext } from './types';

export interface CsvReadOptions {
  /** fail (default): a malformed line fails the run; skip: it is skipped and reported. */
  onError: 'fail' | 'skip';
  encoding: CsvEncoding;
}

const REJECTS = 'csv_rejects';
const REJECT_SCANS = 'csv_reject_scans';

export class CsvSource implements CaseSource {
  readonly kind = 'csv' as const;
  constructor(
    private readonly path: string,
    private readonly columnMap: Settings['columnMap'],
    private readonly read: CsvReadOptions = { onError: 'fail', encoding: 'utf-8' },
    /** The status history CSV (contract 6.3), if any, and its column names. */
    private readonly history?: { path: string; columnMap: Settings['historyColumnMap'] },
  ) {}

  describe(): string {
    return `csv:${this.path}`;
  }

  async load(ctx: SourceContext): Promise<LoadedSource> {
    const p = this.path;
    const { encoding, onError } = this.read;
    const { columns, reader } = await readCsv(ctx, p, 'CSV source', 'set --csv or KPI_CSV_PATH', this.read);
    const mapping = mapColumns(columns, this.columnMap, `CSV source ${printable(p)}`);
    const select = Object.entries(mapping.select).map(([contract, src]) => `${ident(src!)} AS ${contract}`).join(', ');
    await ctx.conn.run(`CREATE OR REPLACE TEMP VIEW source_rows AS SELECT ${select} FROM ${reader}`);
    let historyRelation: string | undefined;
    if (this.history) {
      // The status history is read as strictly as the cases; its malformed lines always fail.
      const hp = this.history.path;
      const h = await readCsv(ctx, hp, 'Status history CSV', 'set --history or KPI_HISTORY_CSV', { onError: 'fail', encoding });
      const hs = historySelect(h.columns, this.history.columnMap, `Status history CSV ${printable(hp)}`, ident);
      await ctx.conn.run(`CREATE OR REPLACE TEMP VIEW history_rows AS SELECT ${hs} FROM ${h.reader}`);
      historyRelation = 'history_rows';
    }
    return {
      relation: 'source_rows',
      historyRelation,
      close: async () => {
        await ctx.conn.run('DROP VIEW IF EXISTS source_rows');
        await ctx.conn.run('DROP VIEW IF EXISTS history_rows');
        if (onError === 'skip') {
          await ctx.conn.run(`DROP TABLE IF EXISTS ${REJECTS}`);
          await ctx.conn.run(`DROP TABLE IF EXISTS ${REJECT_SCANS}`);
        }
      },
      explain: (e) => csvError(p, e, encoding) ?? e,
      rejects: onError === 'skip' ? () => readRejects(ctx.conn) : undefined,
    };
  }
}

/** A CSV file's columns and its strict reader (every column text), after checking the file. */
async function readCsv(ctx: SourceContext, p: string, what: string, hint: string, read: CsvReadOptions): Promise<{ columns: string[]; reader: string }> {
  try {
    if (!statSync(p).isFile()) throw new SourceError(`${what} ${printable(p)} is not a file`);
    accessSync(p, constants.R_OK);
  } catch (e) {
    if (e instanceof SourceError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new SourceError(code === 'ENOENT' ? `${what} ${printable(p)} does not exist (${hint})` : `${what} ${printable(p)} cannot be read (${code ?? 'error'})`);
  }
  if (statSync(p).size === 0) throw new SourceError(`${what} ${printable(p)} is empty: it has no header row`);
  const { encoding } = read;
  // The dialect and column names come from the header line; DuckDB's sniffer (which reads
  // a sample of the file) only when the header is ambiguous. Every column is read as text.
  try {
    let d = headerDialect(p, encoding);
    if (!d) {
      const [sn] = await query<{ Delimiter: string; Quote: string; Escape: string; Columns: { name: string }[] }>(
        ctx.conn, `SELECT Delimiter, Quote, Escape, Columns FROM sniff_csv(${lit(p)}, header = true, encoding = ${lit(encoding)})`);
      // The sniffer reports "no quote seen" as a control character: RFC 4180 quoting then.
      const one = (v: string, dflt: string) => (v && v.length === 1 && v >= ' ' ? v : dflt);
      d = { delimiter: one(sn.Delimiter, ','), quote: one(sn.Quote, '"'), escape: one(sn.Escape, '"'), columns: sn.Columns.map((c) => c.name) };
    }
    return { columns: d.columns, reader: readCsvSql(p, d, read) };
  } catch (e) {
    if (e instanceof SourceError) throw e;
    throw csvError(p, e, encoding) ?? new SourceError(`${what} ${printable(p)} cannot be parsed as CSV: ${printable((e as Error).message.split('\n')[0], 500)}`, printable((e as Error).message, 4000));
  }
}

/** The read_csv() call: strict RFC 4180 with the dialect found, every column as text. */
export function readCsvSql(path: string, d: Dialect, o: CsvReadOptions): string {
  const cols = `{${d.columns.map((c) => `${lit(c)}: 'VARCHAR'`).join(', ')}}`;
  const enc = o.encoding === 'utf-8' ? '' : `, encoding = ${lit(o.encoding)}`;
  const rejects = o.onError === 'skip' ? `, store_rejects = true, rejects_table = ${lit(REJECTS)}, rejects_scan = ${lit(REJECT_SCANS)}` : '';
  return `read_csv(${lit(path)}, auto_detect = false, header = true, delim = ${lit(d.delimiter)}, quote = ${lit(d.quote)}, escape = ${lit(d.escape)}, columns = ${cols}, strict_mode = true${enc}${rejects})`;
}

/**
 * Every line the reader skipped, once each: the relation may be scanned more than once, and
 * a line with missing fields has one entry per field (its first one says it all).
 */
async function readRejects(conn: SourceContext['conn']): Promise<RejectedLine[]> {
  const rows = await query<{ line: number | bigint; reason: string }>(conn,
    `SELECT line, arg_min(error_message, coalesce(column_idx, 0)) AS reason FROM ${REJECTS} GROUP BY line ORDER BY line`).catch(() => []);
  return rows.map((r) => ({ line: Number(r.line), reason: printable(r.reason, 300) }));
}

/**
 * A DuckDB CSV error as one line: the file, the line number and DuckDB's reason (the whole
 * message, escaped, is kept as the detail). Null when `e` is not a CSV reading error.
 */
export function csvError(path: string, e: unknown, encoding: CsvEncoding = 'utf-8'): SourceError | null {
  const msg = e instanceof Error ? e.message : String(e);
  const m = /CSV Error on Line: (\d+)/.exec(msg);
  const notUtf8 = /not utf-8 encoded|Invalid unicode/i.test(msg);
  if (!m && !notUtf8) return null;
  // DuckDB's message: "CSV Error on Line: N", "Original Line: <raw input>", the reason, a
  // blank line, "Possible fixes"/"Possible Solution" and the reader's options. The reason
  // is the last line before the fixes (the raw input may itself span lines).
  const head = msg.split(/\n\s*Possible (?:fixes|Solution)/)[0];
  const lines = head.split('\n').map((l) => l.trim()).filter(Boolean);
  let reason = lines.length > 1 ? lines[lines.length - 1] : 'malformed line';
  if (/^Original Line:/.test(reason)) reason = 'malformed line';
  const hint = notUtf8 ? ` (the file is not ${encoding}: set KPI_CSV_ENCODING, e.g. KPI_CSV_ENCODING=latin-1 or utf-16)` : '';
  const where = m ? `, line ${m[1]}` : '';
  return new SourceError(`CSV source ${printable(path)}${where}: ${printable(reason, 300)}${hint}`, printable(msg, 4000));
}

interface Dialect { delimiter: string; quote: string; escape: string; columns: string[] }

/**
 * Reads the header line: the delimiter is the candidate (, ; tab |) that splits it most,
 * quoting is RFC 4180. Returns null when that is not clear (the sniffer decides then).
 */
export function headerDialect(path: string, encoding: CsvEncoding = 'utf-8'): Dialect | null {
  // UTF-16 headers are left to the sniffer.
  if (encoding === 'utf-16') return null;
  const bytes = headerBytes(path);
  let head: string;
  if (encoding === 'latin-1') head = bytes.toString('latin1');
  else {
    try {
      head = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new SourceError(`CSV source ${printable(path)}, line 1: the header is not valid UTF-8 (set KPI_CSV_ENCODING, e.g. KPI_CSV_ENCODING=latin-1 or utf-16)`);
    }
  }
  const end = head.search(/\r?\n/);
  if (end < 0) return null;
  const line = head.slice(0, end).replace(/^\uFEFF/, '');
  const unquoted = line.replace(/"[^"]*"/g, '');
  const counts = [',', ';', '\t', '|'].map((c) => [c, unquoted.split(c).length - 1] as const).sort((a, b) => b[1] - a[1]);
  if (counts[0][1] === 0 || counts[0][1] === counts[1][1]) return null;
  const delimiter = counts[0][0];
  const columns: string[] = [];
  let cur = '';
  let inQuotes = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (inQuotes) {
      if (ch === '"' && line[i + 1] === '"') { cur += '"'; i++; } else if (ch === '"') inQuotes = false; else cur += ch;
    } else if (ch === '"') inQuotes = true;
    else if (ch === delimiter) { columns.push(cur.trim()); cur = ''; } else cur += ch;
  }
  if (inQuotes) return null;
  columns.push(cur.trim());
  if (columns.some((c) => c === '') || new Set(columns).size !== columns.length) return null;
  return { delimiter, quote: '"', escape: '"', columns };
}

/** The bytes of the file up to its first line break (headers of any length), or the whole file. */
function headerBytes(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const buf = Buffer.alloc(64 * 1024);
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      const nl = chunk.indexOf(10);
      if (nl >= 0) { chunks.push(chunk.subarray(0, nl + 1)); break; }
      chunks.push(chunk);
      pos += n;
      // A header line longer than this is not a header: the sniffer decides.
      if (pos > 16 * 1024 * 1024) break;
    }
    return Buffer.concat(chunks);
  } finally {
    closeSync(fd);
  }
}

export function createCsvSource(settings: Settings, path = settings.KPI_CSV_PATH, historyPath = settings.KPI_HISTORY_CSV): CsvSource {
  if (!path) throw new SourceError('The csv source needs a file: pass --csv FILE or set KPI_CSV_PATH');
  return new CsvSource(path, settings.columnMap, { onError: settings.KPI_CSV_ON_ERROR, encoding: settings.KPI_CSV_ENCODING },
    historyPath ? { path: historyPath, columnMap: settings.historyColumnMap } : undefined);
}
