/**
 * Warehouse compute's Snowflake side (KPI_COMPUTE=warehouse): one signed-in session that
 * runs the KPI SQL (kpi/warehouse.ts) statement by statement, and the case table as an SQL
 * relation with the contract's column names, typed for the normaliser.
 *
 * The relation selects the table's columns under their contract names (quoted lower case,
 * as the normaliser quotes them): timestamps as stored (TIMESTAMP_NTZ and DATE are wall
 * clocks read in KPI_SOURCE_TZ, TIMESTAMP_LTZ / _TZ instants), every other column as text
 * (TO_VARCHAR: 19-digit ids keep every digit), like the extract (typePlan.ts).
 *
 * Results are normalised at this edge: column names in lower case (Snowflake reports
 * unquoted names in upper case), timestamps as ISO UTC seconds, numbers as numbers.
 */
import type { RowStatement } from 'snowflake-sdk';
import type { Settings } from '../../config/settings';
import { SNOWFLAKE, type Dialect } from '../../db/dialect';
import { normaliseValue, type Row } from '../../db/engine';
import { registerSecrets } from '../../support/log';
import { SourceError, type SourceContext } from '../types';
import { chooseAuthenticator } from './credentials';
import { classify, DeadlineError } from './errors';
import { probeSql, sessionSql } from './extract';
import { qualifiedTable, quoteColumn } from './identifiers';
import { createConnection } from './options';
import { connect, disconnect, withDeadline } from './session';
import { planColumns, type Plan } from './typePlan';
import { planHistory } from './history';

export interface WarehouseConnection {
  readonly dialect: Dialect;
  /** The case table as a relation: `(SELECT ... FROM <table>) AS source_cases`. */
  readonly relation: string;
  /** The relation's column types (DuckDB type names), for the normaliser. */
  readonly types: Map<string, string>;
  /** SNOWFLAKE_HISTORY_TABLE the same way (`AS source_history`, columns case_id, status, changed_at); undefined: none. */
  readonly history?: { relation: string; types: Map<string, string> };
  exec(sql: string): Promise<void>;
  query<T = Row>(sql: string): Promise<T[]>;
  close(): Promise<void>;
}

/** How a planned column enters the relation, and the type the normaliser sees. */
function relationColumn(p: Plan): { expr: string; type: string } {
  const col = quoteColumn(p.source);
  const as = `"${p.contract}"`;
  if (p.kind === 'instant') return { expr: `${col} AS ${as}`, type: 'TIMESTAMP WITH TIME ZONE' };
  if (p.kind === 'wall') return { expr: `${p.sfType === 'date' ? `${col}::TIMESTAMP_NTZ` : col} AS ${as}`, type: 'TIMESTAMP' };
  return { expr: `${p.sfType === 'text' ? col : `TO_VARCHAR(${col})`} AS ${as}`, type: 'VARCHAR' };
}

/** Signs in, sets the session (UTC, statement timeout) and probes the case table. */
export async function openWarehouse(settings: Settings, log: SourceContext['log']): Promise<WarehouseConnection> {
  const s = settings;
  registerSecrets([s.SNOWFLAKE_PASSWORD, s.SNOWFLAKE_TOKEN, s.SNOWFLAKE_PRIVATE_KEY, s.SNOWFLAKE_PRIVATE_KEY_PASSPHRASE]);
  if (!s.SNOWFLAKE_ACCOUNT) throw new SourceError('Snowflake configuration: SNOWFLAKE_ACCOUNT is not set (e.g. myorg-myaccount)');
  const table = qualifiedTable(s);
  const authenticator = chooseAuthenticator(s);
  const connection = createConnection(s, authenticator, log);
  const execute = (sqlText: string) => new Promise<{ stmt: RowStatement; rows: unknown[][] }>((resolve, reject) => {
    try {
      connection.execute({
        sqlText,
        rowMode: 'array',
        complete: (err, stmt, rows) => (err ? reject(err) : resolve({ stmt: stmt as RowStatement, rows: (rows ?? []) as unknown[][] })),
      });
    } catch (err) {
      reject(err);
    }
  });
  const fail = (err: unknown): never => {
    throw classify(err, s, authenticator, table).error;
  };
  const deadline = <T>(p: Promise<T>) => withDeadline(p, s.SNOWFLAKE_QUERY_TIMEOUT_MS, () => new DeadlineError('query', s.SNOWFLAKE_QUERY_TIMEOUT_MS));
  try {
    await withDeadline(connect(connection), s.SNOWFLAKE_CONNECT_TIMEOUT_MS, () => new DeadlineError('connect', s.SNOWFLAKE_CONNECT_TIMEOUT_MS));
    await deadline(execute(sessionSql(s.SNOWFLAKE_QUERY_TIMEOUT_MS)));
    // TIMESTAMP (literals, casts) means TIMESTAMP_NTZ whatever the account's default: the KPI
    // SQL holds naive UTC times.
    await deadline(execute(`ALTER SESSION SET TIMEZONE = 'UTC', TIMESTAMP_TYPE_MAPPING = 'TIMESTAMP_NTZ'`));
    const probe = await deadline(execute(probeSql(table)));
    const plan = planColumns(probe.stmt.getColumns() ?? [], s, table);
    const cols = plan.map(relationColumn);
    const types = new Map(plan.map((p, i) => [p.contract as string, cols[i].type]));
    const relation = `(SELECT ${cols.map((c) => c.expr).join(', ')} FROM ${table}) AS source_cases`;
    let history: WarehouseConnection['history'];
    if (s.SNOWFLAKE_HISTORY_TABLE) {
      // The status history (history.ts's column map and types), read in place like the cases.
      const historyTable = qualifiedTable(s, 'SNOWFLAKE_HISTORY_TABLE');
      const hprobe = await deadline(execute(probeSql(historyTable)));
      const hplan = planHistory(hprobe.stmt.getColumns() ?? [], s, historyTable);
      const hcols = hplan.map(relationColumn);
      history = {
        relation: `(SELECT ${hcols.map((c) => c.expr).join(', ')} FROM ${historyTable}) AS source_history`,
        types: new Map(hplan.map((p, i) => [p.contract as string, hcols[i].type])),
      };
    }
    return {
      dialect: SNOWFLAKE,
      relation,
      types,
      history,
      async exec(sql) {
        await deadline(execute(sql)).catch(fail);
      },
      async query<T>(sql: string) {
        const { stmt, rows } = await deadline(execute(sql)).catch(fail);
        const names = (stmt.getColumns() ?? []).map((c) => c.getName().toLowerCase());
        return rows.map((r) => {
          const o: Row = {};
          for (let i = 0; i < names.length; i++) o[names[i]] = normaliseValue(r[i]);
          return o as T;
        });
      },
      close: () => disconnect(connection, s.SNOWFLAKE_CONNECT_TIMEOUT_MS, log),
    };
  } catch (err) {
    void disconnect(connection, s.SNOWFLAKE_CONNECT_TIMEOUT_MS, log);
    if (err instanceof SourceError) throw err;
    return fail(err);
  }
}
