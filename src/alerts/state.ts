/**
 * The sweep's decisions, made inside one short transaction on the alert tables (see
 * schema.ts): what is new since the stored state, what resolved, what reopened; and the
 * claims (alert_case rows + pending outbox rows) that make every decision happen once.
 *
 * The report's at-risk list goes into a temp table through DuckDB's appender (a million
 * rows in well under a second); the comparison is a pair of hash anti-joins in SQL.
 */
import { DuckDBDataChunk, DOUBLE, INTEGER, VARCHAR, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { AtRiskCase, KpiReport, Priority } from '../contract/report';
import { alertLevelOf, levelStageSql, type AlertLevel } from '../contract/alertLevels';
import type { Tx } from './db';
import { reminderText, sparkline, spikeClearedText, type SpikePayload } from '../render/slack/alerts';

export interface SweepContext {
  /** ISO, whole seconds. */
  now: string;
  sweepId: string;
  /** Owner token of the claims this sweep makes. */
  claimId: string;
  channel: string;
  maxReplies: number;
}

export interface CaseDiff {
  threadId: string | null;
  newAtRisk: number;
  newBreached: number;
  resolved: number;
  reopened: number;
  replies: number;
  csv: boolean;
}

const CHUNK = 2048;

/** Appends rows column-wise to a table through the appender. */
export async function appendRows(tx: Tx, table: string, types: DuckDBType[], columns: DuckDBValue[][]): Promise<void> {
  const n = columns[0]?.length ?? 0;
  const app = await tx.conn.createAppender(table);
  try {
    for (let off = 0; off < n; off += CHUNK) {
      const m = Math.min(CHUNK, n - off);
      const chunk = DuckDBDataChunk.create(types, m);
      chunk.setColumns(columns.map((col) => col.slice(off, off + m)));
      app.appendDataChunk(chunk);
    }
    app.flushSync();
  } finally {
    app.closeSync();
  }
}

export async function nextSeq(tx: Tx): Promise<number> {
  const [r] = await tx.q<{ s: number }>(`SELECT coalesce(max(seq), 0) + 1 AS s FROM alert_outbox`);
  return r.s;
}

export interface OutboxInsert {
  msgId: string;
  kind: 'parent' | 'reply' | 'csv' | 'notice';
  threadId: string;
  seq: number;
  channel: string;
  text?: string | null;
  broadcast?: boolean;
  caseId?: string | null;
  level?: string | null;
}

/** Queues one message; a second insert of the same msg_id is a no-op (idempotency key). */
export async function addOutbox(tx: Tx, ctx: Pick<SweepContext, 'now' | 'claimId'>, m: OutboxInsert): Promise<boolean> {
  const r = await tx.q(
    `INSERT INTO alert_outbox (msg_id, kind, thread_id, seq, channel, case_id, level, text, broadcast, state, claim_id, claimed_at, attempts, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $11::TIMESTAMP, 0, $11::TIMESTAMP)
     ON CONFLICT DO NOTHING RETURNING msg_id`,
    [m.msgId, m.kind, m.threadId, m.seq, m.channel, m.caseId ?? null, m.level ?? null, m.text ?? null, m.broadcast ?? false, ctx.claimId, ctx.now],
  );
  return r.length > 0;
}

export async function addThread(
  tx: Tx, ctx: Pick<SweepContext, 'now'>,
  t: { threadId: string; kind: 'cases' | 'spike' | 'health'; channel: string; nAtRisk?: number; nBreached?: number; total?: number; replies?: number; payload: unknown },
): Promise<boolean> {
  const r = await tx.q(
    `INSERT INTO alert_thread (thread_id, kind, channel, created_at, n_at_risk, n_breached, total, replies, payload)
     VALUES ($1, $2, $3, $4::TIMESTAMP, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING thread_id`,
    [t.threadId, t.kind, t.channel, ctx.now, t.nAtRisk ?? 0, t.nBreached ?? 0, t.total ?? 0, t.replies ?? 0, JSON.stringify(t.payload)],
  );
  return r.length > 0;
}

const SEP = '\x1e';

/**
 * The report's at-risk list as TEMP TABLEs cur_a (at risk), cur_b (breached) and cur_s<k>
 * (one per higher risk stage, see contract/alertLevels.ts), each (i = position in the
 * report, case_id), and the view `cur` (i, case_id, level) over them. Ids travel as one
 * joined string per level, split inside DuckDB, which is much faster than the appender for
 * large lists. An id containing the separator falls back to the appender. Returns whether
 * any case is at a higher stage.
 */
async function loadCurrent(tx: Tx, cases: AtRiskCase[], levels: AlertLevel[]): Promise<boolean> {
  const groups = new Map<string, { level: AlertLevel; idx: number[]; ids: string[] }>([
    ['a', { level: 'at_risk', idx: [], ids: [] }], ['b', { level: 'breached', idx: [], ids: [] }],
  ]);
  const stageKeys = new Map<string, string>();
  for (let i = 0; i < cases.length; i++) {
    const level = levels[i];
    let key = level === 'breached' ? 'b' : level === 'at_risk' ? 'a' : stageKeys.get(level);
    if (!key) {
      key = `s${stageKeys.size}`;
      stageKeys.set(level, key);
      groups.set(key, { level, idx: [], ids: [] });
    }
    const g = groups.get(key)!;
    g.idx.push(i);
    g.ids.push(cases[i].case_id);
  }
  for (const [k, { idx, ids }] of groups) {
    const table = `cur_${k}`;
    if (ids.length > 0) {
      // Two unnests in one SELECT are zipped: position i and id side by side.
      await tx.x(
        `CREATE OR REPLACE TEMP TABLE ${table} AS
         SELECT unnest(string_split($2, ','))::INTEGER AS i, unnest(string_split($1, chr(30))) AS case_id`,
        [ids.join(SEP), idx.join(',')],
      );
      const [{ c, bad }] = await tx.q<{ c: number; bad: number }>(`SELECT count(*) AS c, count(*) FILTER (WHERE i IS NULL OR case_id IS NULL) AS bad FROM ${table}`);
      if (c === ids.length && bad === 0) continue;
    }
    await tx.x(`CREATE OR REPLACE TEMP TABLE ${table} (i INTEGER, case_id VARCHAR)`);
    if (ids.length > 0) await appendRows(tx, table, [INTEGER, VARCHAR], [idx, ids]);
  }
  // Levels come from the fixed vocabulary (at_risk, breached, stage_<number>): safe as literals.
  const parts = [...groups].map(([k, g]) => `SELECT i, case_id, '${g.level}' AS level FROM cur_${k}`);
  await tx.x(`CREATE OR REPLACE TEMP VIEW cur AS ${parts.join(' UNION ALL ')}`);
  return stageKeys.size > 0;
}

/**
 * The positions of the listed cases to alert, breaches first. Without higher stages: new
 * at risk = no alert of any level, new breached = no breach alert. With stages: a case is
 * new at its level when no alert of that level or a higher one exists.
 */
async function freshPositions(tx: Tx, withStages: boolean): Promise<number[]> {
  const sql = withStages
    // Candidates first: cases without an alert at their current level (one hash anti join,
    // few rows on a quiet sweep); only their stored levels are then compared.
    ? `WITH cand AS (SELECT c.i, c.case_id, c.level FROM cur c ANTI JOIN alert_case s ON s.case_id = c.case_id AND s.level = c.level),
       top AS (
         SELECT case_id, max(${levelStageSql('level')}) AS top FROM alert_case WHERE case_id IN (SELECT case_id FROM cand) GROUP BY case_id
       )
       SELECT cand.i FROM cand LEFT JOIN top ON top.case_id = cand.case_id
       WHERE cand.level = 'breached' OR top.top IS NULL OR top.top < ${levelStageSql('cand.level')}
       ORDER BY CASE WHEN cand.level = 'breached' THEN 0 ELSE 1 END, cand.i`
    : `SELECT i FROM (
         SELECT b.i, 0 AS o FROM cur_b b ANTI JOIN (SELECT case_id FROM alert_case WHERE level = 'breached') s ON s.case_id = b.case_id
         UNION ALL
         SELECT a.i, 1 AS o FROM cur_a a ANTI JOIN alert_case s ON s.case_id = a.case_id
       ) ORDER BY o, i`;
  const reader = await tx.conn.runAndReadAll(sql);
  return (reader.getColumnsJS()[0] ?? []) as number[];
}

/**
 * Compares the report's at-risk list with the stored alerts and claims what is new.
 * - new at risk: a case with no alert row at all; new breached: no 'breached' row.
 *   (A case first seen already breached gets only the breach alert.)
 * - resolved: an unresolved alert whose case is no longer in the at-risk list. The list
 *   holds every open case past the risk threshold, breached included, so a case leaves it
 *   only by being resolved (or by a change of priority/target that takes it below the
 *   threshold, which is treated the same: "no longer open and at risk").
 * - reopened: a resolved alert whose case is back in the list: its messages are edited
 *   back, nothing is posted again (once per step).
 * `skipResolution` keeps alerts as they are when the report cannot be trusted to be
 * complete (the source delivered no rows).
 */
export async function diffCases(tx: Tx, report: KpiReport, ctx: SweepContext, opts: { skipResolution?: boolean } = {}): Promise<CaseDiff> {
  const cases = report.atRiskCases;
  const levels = cases.map((c) => alertLevelOf(c, report.meta.riskThresholdPct));
  const withStages = await loadCurrent(tx, cases, levels);
  const fresh = await freshPositions(tx, withStages);
  // A case already alerted that reached a higher stage: one reply in its existing thread.
  const escalated = withStages ? await escalate(tx, fresh.filter((i) => levels[i].startsWith('stage_')), cases, levels, ctx) : new Set<number>();
  const fresh2 = escalated.size ? fresh.filter((i) => !escalated.has(i)) : fresh;

  let reopened = 0;
  let resolved = 0;
  if (!opts.skipResolution) {
    // Small sets first (hash anti/semi joins), then updates joined on them: a sweep where
    // little changed costs two joins, not a scan-and-update of every stored alert.
    await tx.x(`CREATE OR REPLACE TEMP TABLE back AS
      SELECT DISTINCT r.case_id FROM (SELECT case_id FROM alert_case WHERE resolved_at IS NOT NULL) r JOIN cur c ON c.case_id = r.case_id`);
    await tx.x(`CREATE OR REPLACE TEMP TABLE gone AS
      SELECT DISTINCT a.case_id FROM alert_case a ANTI JOIN cur c ON c.case_id = a.case_id WHERE a.resolved_at IS NULL`);
    const [{ nb, ng }] = await tx.q<{ nb: number; ng: number }>(`SELECT (SELECT count(*) FROM back) AS nb, (SELECT count(*) FROM gone) AS ng`);
    if (nb > 0) {
      reopened = await countChanged(tx, `UPDATE alert_case SET resolved_at = NULL, version = version + 1
         FROM back WHERE alert_case.case_id = back.case_id AND alert_case.resolved_at IS NOT NULL`);
    }
    if (ng > 0) {
      resolved = await countChanged(tx, `UPDATE alert_case SET resolved_at = $1::TIMESTAMP, version = version + 1
         FROM gone WHERE alert_case.case_id = gone.case_id AND alert_case.resolved_at IS NULL`, [ctx.now]);
    }
  }

  let threadId: string | null = null;
  let newAtRisk = 0;
  let newBreached = 0;
  let replies = 0;
  if (fresh2.length > 0) {
    threadId = `cases:${ctx.sweepId}`;
    const picked: AtRiskCase[] = fresh2.map((i) => cases[i]);
    const byPriority: Record<string, number> = {};
    for (const c of picked) {
      if (c.risk_level === 'breached') newBreached += 1;
      else newAtRisk += 1;
      byPriority[c.priority] = (byPriority[c.priority] ?? 0) + 1;
    }
    replies = Math.min(picked.length, ctx.maxReplies);
    await insertNewCases(tx, fresh2.map((i) => cases[i]), fresh2.map((i) => levels[i]));
    await tx.x(
      `INSERT INTO alert_case (case_id, level, thread_id, rank, has_reply, priority, region, team, assignee, status, created_at,
         due_at, sla_target_hours, elapsed_hours, sla_elapsed_pct, hours_to_breach, alerted_at, version, shown_version,
         policy, clock_state, risk_stage)
       SELECT case_id, level, $1, rank, rank < $2, priority, region, team, assignee, status, created_at, due_at,
         sla_target_hours, elapsed_hours, sla_elapsed_pct, hours_to_breach, $3::TIMESTAMP, 1,
         CASE WHEN rank < $2 THEN 0 ELSE 1 END, policy, clock_state, risk_stage FROM newc`,
      [threadId, ctx.maxReplies, ctx.now],
    );
    await addThread(tx, ctx, {
      threadId, kind: 'cases', channel: ctx.channel, nAtRisk: newAtRisk, nBreached: newBreached, total: picked.length, replies,
      payload: { byPriority },
    });
    const seq = await nextSeq(tx);
    await addOutbox(tx, ctx, { msgId: `parent:${threadId}`, kind: 'parent', threadId, seq, channel: ctx.channel });
    await tx.x(
      `INSERT INTO alert_outbox (msg_id, kind, thread_id, seq, channel, case_id, level, state, claim_id, claimed_at, attempts, created_at)
       SELECT 'reply:' || $1 || ':' || case_id || ':' || level, 'reply', $1, $2 + 1 + rank, $3, case_id, level, 'pending', $4,
         $5::TIMESTAMP, 0, $5::TIMESTAMP
       FROM newc WHERE rank < $6`,
      [threadId, seq, ctx.channel, ctx.claimId, ctx.now, ctx.maxReplies],
    );
    if (picked.length > ctx.maxReplies) {
      await addOutbox(tx, ctx, { msgId: `csv:${threadId}`, kind: 'csv', threadId, seq: seq + 1 + replies, channel: ctx.channel });
    }
  }

  if (resolved > 0 || reopened > 0) {
    // Progress of each case thread ("2 of 4 resolved"); a thread whose cases all resolved is resolved.
    await tx.x(
      `UPDATE alert_thread SET n_resolved = s.n, version = alert_thread.version + 1,
         resolved_at = CASE WHEN s.n >= alert_thread.total THEN coalesce(alert_thread.resolved_at, $1::TIMESTAMP) ELSE NULL END
       FROM (SELECT thread_id, count(resolved_at)::INTEGER AS n FROM alert_case GROUP BY thread_id) s
       WHERE alert_thread.thread_id = s.thread_id AND alert_thread.kind = 'cases' AND alert_thread.n_resolved <> s.n`,
      [ctx.now],
    );
  }
  return { threadId, newAtRisk, newBreached, resolved, reopened, replies, csv: fresh2.length > ctx.maxReplies };
}

/** The TEMP TABLE newc: the cases to alert with their level, rank = position in the list. */
async function insertNewCases(tx: Tx, picked: AtRiskCase[], levels: AlertLevel[]): Promise<void> {
  const col = <K extends keyof AtRiskCase>(k: K) => picked.map((c) => (c[k] ?? null) as DuckDBValue);
  await tx.x(`CREATE OR REPLACE TEMP TABLE newc (rank INTEGER, case_id VARCHAR, level VARCHAR, priority VARCHAR, region VARCHAR,
    team VARCHAR, assignee VARCHAR, status VARCHAR, created_at VARCHAR, due_at VARCHAR, sla_target_hours DOUBLE,
    elapsed_hours DOUBLE, sla_elapsed_pct DOUBLE, hours_to_breach DOUBLE, policy VARCHAR, clock_state VARCHAR, risk_stage DOUBLE)`);
  await appendRows(
    tx, 'newc',
    [INTEGER, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, DOUBLE, DOUBLE, DOUBLE, DOUBLE, VARCHAR, VARCHAR, DOUBLE],
    [picked.map((_, i) => i), col('case_id'), levels, col('priority'), col('region'), col('team'), col('assignee'),
      col('status'), col('created_at'), col('due_at'), col('sla_target_hours'), col('elapsed_hours'), col('sla_elapsed_pct'),
      col('hours_to_breach'), col('policy'), col('clock_state'), col('risk_stage')],
  );
}

/**
 * Stage crossings of cases already alerted (positions into `cases`): each gets an alert row
 * at its new level in the thread of its latest alert and one reply there; the thread counts
 * it (total, replies) so its progress stays right. Returns the positions handled.
 */
async function escalate(tx: Tx, positions: number[], cases: AtRiskCase[], levels: AlertLevel[], ctx: SweepContext): Promise<Set<number>> {
  const done = new Set<number>();
  if (positions.length === 0) return done;
  await insertNewCases(tx, positions.map((i) => cases[i]), positions.map((i) => levels[i]));
  const rows = await tx.q<{ rank: number; thread_id: string; case_id: string; level: string }>(
    `SELECT n.rank, arg_max(a.thread_id, a.alerted_at) AS thread_id, n.case_id, n.level
     FROM newc n JOIN alert_case a ON a.case_id = n.case_id JOIN alert_thread t ON t.thread_id = a.thread_id AND t.kind = 'cases'
     WHERE a.has_reply GROUP BY n.rank, n.case_id, n.level ORDER BY n.rank`,
  );
  if (rows.length === 0) return done;
  await tx.x(`CREATE OR REPLACE TEMP TABLE esc (rank INTEGER, thread_id VARCHAR)`);
  await appendRows(tx, 'esc', [INTEGER, VARCHAR], [rows.map((r) => r.rank), rows.map((r) => r.thread_id)]);
  await tx.x(
    `INSERT INTO alert_case (case_id, level, thread_id, rank, has_reply, priority, region, team, assignee, status, created_at,
       due_at, sla_target_hours, elapsed_hours, sla_elapsed_pct, hours_to_breach, alerted_at, version, shown_version,
       policy, clock_state, risk_stage)
     SELECT n.case_id, n.level, e.thread_id, t.total + row_number() OVER (PARTITION BY e.thread_id ORDER BY n.rank) - 1, true,
       n.priority, n.region, n.team, n.assignee, n.status, n.created_at, n.due_at, n.sla_target_hours, n.elapsed_hours,
       n.sla_elapsed_pct, n.hours_to_breach, $1::TIMESTAMP, 1, 0, n.policy, n.clock_state, n.risk_stage
     FROM newc n JOIN esc e ON e.rank = n.rank JOIN alert_thread t ON t.thread_id = e.thread_id`,
    [ctx.now],
  );
  await tx.x(
    `UPDATE alert_thread SET total = alert_thread.total + s.n, replies = alert_thread.replies + s.n, resolved_at = NULL,
       version = alert_thread.version + CASE WHEN alert_thread.resolved_at IS NULL THEN 0 ELSE 1 END
     FROM (SELECT thread_id, count(*)::INTEGER AS n FROM esc GROUP BY thread_id) s WHERE alert_thread.thread_id = s.thread_id`,
  );
  let seq = await nextSeq(tx);
  for (const r of rows) {
    await addOutbox(tx, ctx, { msgId: `reply:${r.thread_id}:${r.case_id}:${r.level}`, kind: 'reply', threadId: r.thread_id, seq: seq++, channel: ctx.channel, caseId: r.case_id, level: r.level });
    done.add(positions[r.rank]);
  }
  return done;
}

async function countChanged(tx: Tx, sql: string, params?: DuckDBValue[]): Promise<number> {
  const res = await tx.conn.run(sql, params as never);
  return Number(res.rowsChanged);
}

export interface SpikeDiff {
  opened: string[];
  cleared: string[];
}

/**
 * One spike alert per scope and day while the rule fires; a reply in its thread when it
 * clears. An older day's alert still open when a new day's alert starts is superseded
 * (the newer thread carries the clearing reply).
 */
export async function diffSpikes(tx: Tx, report: KpiReport, ctx: SweepContext, baselineDays: number): Promise<SpikeDiff> {
  const out: SpikeDiff = { opened: [], cleared: [] };
  const trendOf = (scope: string) => (scope === 'ALL'
    ? report.volumeTrend.map((r) => r.backlog_end_of_day)
    : report.backlogByPriority[scope as Priority] ?? []).slice(-7);
  const open = await tx.q<{ thread_id: string; payload: string }>(
    `SELECT thread_id, payload FROM alert_thread WHERE kind = 'spike' AND resolved_at IS NULL ORDER BY created_at`,
  );
  const openByScope = new Map<string, { thread_id: string; payload: SpikePayload }[]>();
  for (const o of open) {
    const p = JSON.parse(o.payload) as SpikePayload;
    if (p.superseded) continue;
    const list = openByScope.get(p.scope) ?? [];
    list.push({ thread_id: o.thread_id, payload: p });
    openByScope.set(p.scope, list);
  }
  const seen = new Set<string>();
  for (const row of report.backlogSpike) {
    seen.add(row.scope);
    const threadId = `spike:${row.scope}:${row.as_of_date}`;
    const existing = openByScope.get(row.scope) ?? [];
    if (row.is_spike) {
      const payload: SpikePayload = {
        scope: row.scope, as_of_date: row.as_of_date, backlog_today: row.backlog_today, baseline_avg: row.baseline_avg,
        growth_pct: row.growth_pct, threshold_pct: row.threshold_pct, baseline_days: baselineDays,
        spark: trendOf(row.scope).length > 1 ? sparkline(trendOf(row.scope)) : null,
      };
      const created = await addThread(tx, ctx, { threadId, kind: 'spike', channel: ctx.channel, payload });
      if (created) {
        out.opened.push(threadId);
        await addOutbox(tx, ctx, { msgId: `parent:${threadId}`, kind: 'parent', threadId, seq: await nextSeq(tx), channel: ctx.channel });
        for (const old of existing) {
          if (old.thread_id === threadId || old.payload.as_of_date > row.as_of_date) continue;
          await tx.x(`UPDATE alert_thread SET payload = $2 WHERE thread_id = $1`, [old.thread_id, JSON.stringify({ ...old.payload, superseded: true })]);
        }
      }
    } else {
      for (const old of existing) {
        if (old.payload.as_of_date > row.as_of_date) continue;
        await clearSpike(tx, ctx, old.thread_id, spikeClearedText(row.scope, row.backlog_today, row.growth_pct, row.baseline_avg));
        out.cleared.push(old.thread_id);
      }
    }
  }
  if (report.backlogSpike.length > 0) {
    for (const [scope, list] of openByScope) {
      if (seen.has(scope)) continue;
      for (const old of list) {
        await clearSpike(tx, ctx, old.thread_id, spikeClearedText(scope, null, null, null));
        out.cleared.push(old.thread_id);
      }
    }
  }
  return out;
}

async function clearSpike(tx: Tx, ctx: SweepContext, threadId: string, text: string): Promise<void> {
  await tx.x(`UPDATE alert_thread SET resolved_at = $2::TIMESTAMP, version = version + 1 WHERE thread_id = $1`, [threadId, ctx.now]);
  await addOutbox(tx, ctx, { msgId: `clear:${threadId}`, kind: 'notice', threadId, seq: await nextSeq(tx), channel: ctx.channel, text });
}

/**
 * Escalation reminder: one reply per case thread listing its cases still unacknowledged,
 * unresolved and not snoozed `afterMinutes` after the alert (and after the last reminder).
 * A case that breached (or reached a higher stage) is reminded through that alert only.
 */
export async function claimReminders(tx: Tx, ctx: SweepContext, afterMinutes: number): Promise<number> {
  if (!(afterMinutes > 0)) return 0;
  const cutoff = new Date(Date.parse(ctx.now) - afterMinutes * 60_000).toISOString();
  // A case is reminded through its highest alerted level only.
  const due = await tx.q<{ thread_id: string; case_id: string; level: string; priority: string | null }>(
    `SELECT c.thread_id, c.case_id, c.level, c.priority FROM alert_case c
     JOIN alert_outbox p ON p.msg_id = 'parent:' || c.thread_id AND p.state = 'sent'
     WHERE c.resolved_at IS NULL AND c.acked_by IS NULL AND c.has_reply
       AND (c.snoozed_until IS NULL OR c.snoozed_until <= $1::TIMESTAMP)
       AND c.alerted_at <= $2::TIMESTAMP AND (c.reminded_at IS NULL OR c.reminded_at <= $2::TIMESTAMP)
       AND NOT EXISTS (SELECT 1 FROM alert_case b WHERE b.case_id = c.case_id AND ${levelStageSql('b.level')} > ${levelStageSql('c.level')})
     ORDER BY c.thread_id, c.rank`,
    [ctx.now, cutoff],
  );
  if (due.length === 0) return 0;
  const byThread = new Map<string, typeof due>();
  for (const d of due) {
    const l = byThread.get(d.thread_id) ?? [];
    l.push(d);
    byThread.set(d.thread_id, l);
  }
  for (const [threadId, list] of byThread) {
    await addOutbox(tx, ctx, {
      msgId: `remind:${threadId}:${ctx.now}`, kind: 'notice', threadId, seq: await nextSeq(tx), channel: ctx.channel,
      text: reminderText(list.slice(0, 10), list.length, afterMinutes),
    });
  }
  await tx.x(`CREATE OR REPLACE TEMP TABLE remind (case_id VARCHAR, level VARCHAR)`);
  await appendRows(tx, 'remind', [VARCHAR, VARCHAR], [due.map((d) => d.case_id), due.map((d) => d.level)]);
  await tx.x(
    `UPDATE alert_case SET reminded_at = $1::TIMESTAMP FROM remind r WHERE alert_case.case_id = r.case_id AND alert_case.level = r.level`,
    [ctx.now],
  );
  return byThread.size;
}

/** Forgets alerts resolved more than `days` ago (a case back after that alerts afresh). */
export async function purgeOld(tx: Tx, now: string, days: number): Promise<void> {
  if (!(days > 0)) return;
  const cutoff = new Date(Date.parse(now) - days * 86_400_000).toISOString();
  await tx.x(`DELETE FROM alert_case WHERE resolved_at IS NOT NULL AND resolved_at < $1::TIMESTAMP`, [cutoff]);
  await tx.x(
    `DELETE FROM alert_thread WHERE resolved_at IS NOT NULL AND resolved_at < $1::TIMESTAMP
       AND NOT EXISTS (SELECT 1 FROM alert_case c WHERE c.thread_id = alert_thread.thread_id)`,
    [cutoff],
  );
  await tx.x(
    `DELETE FROM alert_outbox WHERE state = 'sent' AND sent_at < $1::TIMESTAMP
       AND NOT EXISTS (SELECT 1 FROM alert_thread t WHERE t.thread_id = alert_outbox.thread_id)`,
    [cutoff],
  );
}
