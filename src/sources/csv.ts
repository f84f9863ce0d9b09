/**
 * CSV export source: DuckDB's CSV reader, every column read as text (the normaliser parses
 * timestamps, so one bad value is a data-quality defect, not a crash). Column names are
 * mapped with KPI_COLUMN_MAP.
 */
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import type { Settings } from '../config/settings';
import { ident, lit, query } from '../db/engine';
import { historySelect, mapColumns } from './columns';
import { SourceError, type CaseSource, type LoadedSource, type SourceContext } from './types';

export class CsvSource implements CaseSource {
  readonly kind = 'csv' as const;
  constructor(
    private readonly path: string,
    private readonly columnMap: Settings['columnMap'],
    /** The status history CSV (contract 6.3), if any, and its column names. */
    private readonly history?: { path: string; columnMap: Settings['historyColumnMap'] },
  ) {}

  describe(): string {
    return `csv:${this.path}`;
  }

  async load(ctx: SourceContext): Promise<LoadedSource> {
    const { relation, columns, reader } = await readCsv(ctx, this.path, 'CSV source', 'set --csv or KPI_CSV_PATH');
    const mapping = mapColumns(columns, this.columnMap, `CSV source ${this.path}`);
    const select = Object.entries(mapping.select).map(([contract, src]) => `${ident(src!)} AS ${contract}`).join(', ');
    await ctx.conn.run(`CREATE OR REPLACE TEMP VIEW ${relation} AS SELECT ${select} FROM ${reader}`);
    let historyRelation: string | undefined;
    if (this.history) {
      const h = await readCsv(ctx, this.history.path, 'Status history CSV', 'set --history or KPI_HISTORY_CSV');
      const hs = historySelect(h.columns, this.history.columnMap, `Status history CSV ${this.history.path}`, ident);
      await ctx.conn.run(`CREATE OR REPLACE TEMP VIEW history_rows AS SELECT ${hs} FROM ${h.reader}`);
      historyRelation = 'history_rows';
    }
    return {
      relation,
      historyRelation,
      close: async () => {
        await ctx.conn.run('DROP VIEW IF EXISTS source_rows');
        await ctx.conn.run('DROP VIEW IF EXISTS history_rows');
      },
    };
  }
}

/** A CSV file's columns and its reader (every column text), after checking the file. */
async function readCsv(ctx: SourceContext, p: string, what: string, hint: string): Promise<{ relation: string; columns: string[]; reader: string }> {
  try {
    if (!statSync(p).isFile()) throw new SourceError(`${what} ${p} is not a file`);
    accessSync(p, constants.R_OK);
  } catch (e) {
    if (e instanceof SourceError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new SourceError(code === 'ENOENT' ? `${what} ${p} does not exist (${hint})` : `${what} ${p} cannot be read (${code ?? 'error'})`);
  }
  if (statSync(p).size === 0) throw new SourceError(`${what} ${p} is empty: it has no header row`);
  // The dialect and column names come from the header line; DuckDB's sniffer (which reads
  // a sample of the file) only when the header is ambiguous. Every column is read as text.
  let columns: string[];
  let reader: string;
  try {
    let d = headerDialect(p);
    if (!d) {
      const [sn] = await query<{ Delimiter: string; Quote: string; Escape: string; Columns: { name: string }[] }>(
        ctx.conn, `SELECT Delimiter, Quote, Escape, Columns FROM sniff_csv(${lit(p)}, header = true)`);
      // The sniffer reports "no quote seen" as a control character: RFC 4180 quoting then.
      const one = (v: string, dflt: string) => (v && v.length === 1 && v >= ' ' ? v : dflt);
      d = { delimiter: one(sn.Delimiter, ','), quote: one(sn.Quote, '"'), escape: one(sn.Escape, '"'), columns: sn.Columns.map((c) => c.name) };
    }
    columns = d.columns;
    const cols = `{${columns.map((c) => `${lit(c)}: 'VARCHAR'`).join(', ')}}`;
    reader = `read_csv(${lit(p)}, auto_detect = false, header = true, delim = ${lit(d.delimiter)}, quote = ${lit(d.quote)}, escape = ${lit(d.escape)}, columns = ${cols}, strict_mode = false, null_padding = true)`;
  } catch (e) {
    throw new SourceError(`${what} ${p} cannot be parsed as CSV: ${(e as Error).message.split('\n')[0]}`);
  }
  return { relation: 'source_rows', columns, reader };
}

interface Dialect { delimiter: string; quote: string; escape: string; columns: string[] }

/**
 * Reads the header line: the delimiter is the candidate (, ; tab |) that splits it most,
 * quoting is RFC 4180. Returns null when that is not clear (the sniffer decides then).
 */
export function headerDialect(path: string): Dialect | null {
  const fd = openSync(path, 'r');
  let head: string;
  try {
    const buf = Buffer.alloc(64 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    head = buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
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

export function createCsvSource(settings: Settings, path = settings.KPI_CSV_PATH, historyPath = settings.KPI_HISTORY_CSV): CsvSource {
  if (!path) throw new SourceError('The csv source needs a file: pass --csv FILE or set KPI_CSV_PATH');
  return new CsvSource(path, settings.columnMap, historyPath ? { path: historyPath, columnMap: settings.historyColumnMap } : undefined);
}
