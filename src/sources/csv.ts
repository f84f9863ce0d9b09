/**
 * CSV export source: DuckDB's CSV reader, every column read as text (the normaliser parses
 * timestamps, so one bad value is a data-quality defect, not a crash). Column names are
 * mapped with KPI_COLUMN_MAP.
 */
import { accessSync, constants, statSync } from 'node:fs';
import type { Settings } from '../config';
import { ident, lit, query } from '../store/engine';
import { mapColumns } from './columns';
import { SourceError, type CaseSource, type LoadedSource, type SourceContext } from './types';

export class CsvSource implements CaseSource {
  readonly kind = 'csv' as const;
  constructor(private readonly path: string, private readonly columnMap: Settings['columnMap']) {}

  describe(): string {
    return `csv:${this.path}`;
  }

  async load(ctx: SourceContext): Promise<LoadedSource> {
    const p = this.path;
    try {
      if (!statSync(p).isFile()) throw new SourceError(`CSV source ${p} is not a file`);
      accessSync(p, constants.R_OK);
    } catch (e) {
      if (e instanceof SourceError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new SourceError(code === 'ENOENT' ? `CSV source ${p} does not exist (set --csv or KPI_CSV_PATH)` : `CSV source ${p} cannot be read (${code ?? 'error'})`);
    }
    if (statSync(p).size === 0) throw new SourceError(`CSV source ${p} is empty: it has no header row`);
    // Sniff the dialect once, then read every column as text with that dialect.
    let columns: string[];
    let reader: string;
    try {
      const [sn] = await query<{ Delimiter: string; Quote: string; Escape: string; HasHeader: boolean; Columns: { name: string }[] }>(
        ctx.conn, `SELECT Delimiter, Quote, Escape, HasHeader, Columns FROM sniff_csv(${lit(p)}, header = true)`);
      columns = sn.Columns.map((c) => c.name);
      const cols = `{${columns.map((c) => `${lit(c)}: 'VARCHAR'`).join(', ')}}`;
      // The sniffer reports "no quote seen" as a control character: RFC 4180 quoting then.
      const one = (v: string, dflt: string) => lit(v && v.length === 1 && v >= ' ' ? v : dflt);
      reader = `read_csv(${lit(p)}, auto_detect = false, header = true, delim = ${one(sn.Delimiter, ',')}, quote = ${one(sn.Quote, '"')}, escape = ${one(sn.Escape, '"')}, columns = ${cols}, strict_mode = false, null_padding = true)`;
    } catch (e) {
      throw new SourceError(`CSV source ${p} cannot be parsed as CSV: ${(e as Error).message.split('\n')[0]}`);
    }
    const mapping = mapColumns(columns, this.columnMap, `CSV source ${p}`);
    const select = Object.entries(mapping.select).map(([contract, src]) => `${ident(src!)} AS ${contract}`).join(', ');
    await ctx.conn.run(`CREATE OR REPLACE TEMP VIEW source_rows AS SELECT ${select} FROM ${reader}`);
    return {
      relation: 'source_rows',
      close: async () => { await ctx.conn.run('DROP VIEW IF EXISTS source_rows'); },
    };
  }
}

export function createCsvSource(settings: Settings, path = settings.KPI_CSV_PATH): CsvSource {
  if (!path) throw new SourceError('The csv source needs a file: pass --csv FILE or set KPI_CSV_PATH');
  return new CsvSource(path, settings.columnMap);
}
