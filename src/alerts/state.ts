/**
 * One file on purpose: every step of a sweep's claim runs in one transaction and shares its
 * temp tables (cur, newc, ...) and counters; split, one transaction would be spread over files.
 *
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
import { reminderText, sparkline, spikeClearedText, stepNoticeText, type AnomalyPayload, type SpikePayload } from '../render/slack/alerts';
import { DEFAULT_BREACH_HORIZON_HOURS, attentionRank, isOldBreach } from '../render/attention';

export interface SweepContext {
  /** ISO, whole seconds. */
  now: string;
  sweepId: string;
  /** Owner token of the claims this sweep makes. */
  claimId: string;
  channel: string;
  maxReplies: number;
  /** Breached longer ago than this: counted and in the CSV, no reply each (default 24). */
  horizonHours?: number;
  /** Record what is already open as known on a channel's first sweep, with one summary (default true). */
  quietStart?: boolean;
  /** The owner mention for a case (`<@U…>` / `<!subteam^S…>`), or null. */
  mention?: (c: AtRiskCase) => string | null;
  /** The channel for a case (routing), or null when it is below its route's minimum stage. Default: `channel`. */
  route?: (c: AtRiskCase) => string | null;
  /** Every channel routes can send to (their first sweep is recorded even when nothing is open there). */
  channels?: string[];
  /** Set internally: the default channel while claiming for a routed one. */
  defaultChannel?: string;
}

export interface CaseDiff {
  /** The new case thread of this sweep (the default channel's, else the first). */
  threadId: string | null;
  /** Every new case thread of this sweep (one per channel with news). */
  threads: string[];
  newAtRisk: number;
  newBreached: number;
  resolved: number;
  reopened: number;
  replies: number;
  csv: boolean;
  /** The quiet first sweep's summary thread and what it recorded as known. */
  baseline: { threadId: string; atRisk: number; breached: number } | null;
  /** Cases whose new step went into the thread of their earlier step. */
  continued: number;
  /** New breaches older than the horizon: counted in the parent and in the CSV only. */
  oldBreached: number;
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
  t: { threadId: string; kind: 'cases' | 'spike' | 'health' | 'anomaly'; channel: string; nAtRisk?: number; nBreached?: number; total?: number; replies?: number; payload: unknown },
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

  const out: CaseDiff = {
    threadId: null, threads: [], newAtRisk: 0, newBreached: 0, resolved, reopened, replies: 0, csv: false, baseline: null, continued: 0, oldBreached: 0,
  };
  const horizon = ctx.horizonHours ?? DEFAULT_BREACH_HORIZON_HOURS;
  // The shared attention order: soonest to breach first, then newly breached, old breaches last.
  const rank = new Map<number, [number, number]>();
  for (const i of fresh) rank.set(i, attentionRank(cases[i], horizon));
  fresh.sort((x, y) => {
    const [ka, va] = rank.get(x)!;
    const [kb, vb] = rank.get(y)!;
    return ka - kb || va - vb || x - y;
  });

  // Routing: each fresh case to its channel; null: below its route's minimum stage (not yet).
  // Every configured channel is visited, so a channel's first sweep is recorded even when empty.
  const groups = new Map<string, number[]>([[ctx.channel, []]]);
  for (const ch of ctx.channels ?? []) if (!groups.has(ch)) groups.set(ch, []);
  for (const i of fresh) {
    const ch = ctx.route ? ctx.route(cases[i]) : ctx.channel;
    if (ch === null) continue;
    const g = groups.get(ch) ?? [];
    g.push(i);
    groups.set(ch, g);
  }
  for (const [channel, idx] of groups) {
    await claimChannel(tx, { ...ctx, channel, defaultChannel: ctx.channel }, idx, cases, levels, out, horizon);
  }
  return finishProgress(tx, ctx, out);
}

/** The claims of one channel: its quiet first sweep, continued cases, a new thread. */
async function claimChannel(tx: Tx, ctx: SweepContext, fresh: number[], cases: AtRiskCase[], levels: AlertLevel[], out: CaseDiff, horizon: number): Promise<void> {
  // The step each case is at (at_risk, a higher risk stage, breached): what its alert row records.
  const stepOf = new Map(fresh.map((i) => [cases[i].case_id, levels[i]]));
  const levelOf = (c: AtRiskCase): string => stepOf.get(c.case_id) ?? c.risk_level;
  // A quiet first sweep: what is already open and at risk on a channel that never had case
  // alerts (or after the state was reset) is recorded as known, with one summary and a CSV.
  const first = ctx.quietStart !== false && (await tx.q(
    `SELECT 1 FROM alert_thread WHERE kind = 'cases' AND channel = $1 LIMIT 1`, [ctx.channel])).length === 0;
  if (first) {
    const threadId = `baseline:${ctx.channel}:${ctx.sweepId}`;
    const picked = fresh.map((i) => cases[i]);
    const counts = countLevels(picked);
    await insertCases(tx, picked, { threadId, now: ctx.now, replyUpTo: 0, horizon, levelOf });
    await addThread(tx, ctx, {
      threadId, kind: 'cases', channel: ctx.channel, nAtRisk: counts.atRisk, nBreached: counts.breached, total: picked.length, replies: 0,
      payload: { byPriority: counts.byPriority, baseline: true },
    });
    if (picked.length > 0) {
      const seq = await nextSeq(tx);
      await addOutbox(tx, ctx, { msgId: `parent:${threadId}`, kind: 'parent', threadId, seq, channel: ctx.channel });
      await addOutbox(tx, ctx, { msgId: `csv:${threadId}`, kind: 'csv', threadId, seq: seq + 1, channel: ctx.channel });
      out.csv = true;
    }
    out.baseline ??= { threadId, atRisk: 0, breached: 0 };
    out.baseline.atRisk += counts.atRisk;
    out.baseline.breached += counts.breached;
    return;
  }

  // One case, one thread: a case whose earlier step has a reply continues in that thread.
  // Its reply is edited to the new step, and a notice in the thread says so.
  const continued = new Map<string, string>();
  if (fresh.length > 0) {
    const rows = await tx.q<{ case_id: string; thread_id: string }>(
      `SELECT a.case_id, arg_max(a.thread_id, a.alerted_at) AS thread_id FROM alert_case a
       JOIN cur c ON c.case_id = a.case_id AND a.level <> c.level
       WHERE a.has_reply GROUP BY a.case_id`,
    );
    for (const r of rows) continued.set(r.case_id, r.thread_id);
  }
  const later: number[] = [];
  for (const i of fresh) {
    const c = cases[i];
    const thread = continued.get(c.case_id);
    if (!thread) {
      later.push(i);
      continue;
    }
    out.continued += 1;
    await insertCases(tx, [c], { threadId: thread, now: ctx.now, replyUpTo: 0, horizon, levelOf });
    await tx.x(
      `UPDATE alert_case SET now_level = $2, now_hours_to_breach = $3, now_at = $4::TIMESTAMP, version = version + 1
       WHERE case_id = $1 AND has_reply AND level <> $2`,
      [c.case_id, levelOf(c), c.hours_to_breach, ctx.now],
    );
    const [th] = await tx.q<{ channel: string }>(`SELECT channel FROM alert_thread WHERE thread_id = $1`, [thread]);
    await addOutbox(tx, ctx, {
      msgId: `step:${thread}:${c.case_id}:${levelOf(c)}`, kind: 'notice', threadId: thread, seq: await nextSeq(tx),
      channel: th?.channel ?? ctx.channel, text: stepNoticeText(c, ctx.now, ctx.mention?.(c) ?? null, levelOf(c)),
    });
  }

  if (later.length > 0) {
    const threadId = ctx.channel === ctx.defaultChannel || !ctx.defaultChannel ? `cases:${ctx.sweepId}` : `cases:${ctx.sweepId}:${ctx.channel}`;
    out.threadId ??= threadId;
    out.threads.push(threadId);
    const picked: AtRiskCase[] = later.map((i) => cases[i]);
    const counts = countLevels(picked);
    out.newAtRisk += counts.atRisk;
    out.newBreached += counts.breached;
    // Breached longer ago than the horizon: counted and in the CSV, never a reply each.
    const listed = picked.filter((c) => !isOldBreach(c, horizon)).length;
    const oldBreached = picked.length - listed;
    const replies = Math.min(listed, ctx.maxReplies);
    out.oldBreached += oldBreached;
    out.replies += replies;
    await insertCases(tx, picked, { threadId, now: ctx.now, replyUpTo: replies, horizon, mention: ctx.mention, levelOf });
    await addThread(tx, ctx, {
      threadId, kind: 'cases', channel: ctx.channel, nAtRisk: counts.atRisk, nBreached: counts.breached, total: picked.length,
      replies, payload: { byPriority: counts.byPriority, oldBreached, horizonHours: horizon },
    });
    const seq = await nextSeq(tx);
    await addOutbox(tx, ctx, { msgId: `parent:${threadId}`, kind: 'parent', threadId, seq, channel: ctx.channel });
    await tx.x(
      `INSERT INTO alert_outbox (msg_id, kind, thread_id, seq, channel, case_id, level, state, claim_id, claimed_at, attempts, created_at)
       SELECT 'reply:' || $1 || ':' || case_id || ':' || level, 'reply', $1, $2 + 1 + rank, $3, case_id, level, 'pending', $4,
         $5::TIMESTAMP, 0, $5::TIMESTAMP
       FROM alert_case WHERE thread_id = $1 AND has_reply`,
      [threadId, seq, ctx.channel, ctx.claimId, ctx.now],
    );
    if (picked.length > replies) {
      out.csv = true;
      await addOutbox(tx, ctx, { msgId: `csv:${threadId}`, kind: 'csv', threadId, seq: seq + 1 + picked.length, channel: ctx.channel });
    }
  }
}


function countLevels(picked: AtRiskCase[]): { atRisk: number; breached: number; byPriority: Record<string, number> } {
  const byPriority: Record<string, number> = {};
  let atRisk = 0;
  let breached = 0;
  for (const c of picked) {
    if (c.risk_level === 'breached') breached += 1;
    else atRisk += 1;
    byPriority[c.priority] = (byPriority[c.priority] ?? 0) + 1;
  }
  return { atRisk, breached, byPriority };
}

/**
 * Inserts alert rows for `picked` (in attention order: rank = position) into a thread; the
 * first `replyUpTo` get a reply. An acknowledgement of an earlier step of the same case
 * carries over to the new row.
 */
async function insertCases(
  tx: Tx, picked: AtRiskCase[],
  o: { threadId: string; now: string; replyUpTo: number; horizon: number; mention?: (c: AtRiskCase) => string | null; levelOf: (c: AtRiskCase) => string },
): Promise<void> {
  if (picked.length === 0) return;
  const col = <K extends keyof AtRiskCase>(k: K) => picked.map((c) => (c[k] ?? null) as DuckDBValue);
  await tx.x(`CREATE OR REPLACE TEMP TABLE newc (rank INTEGER, case_id VARCHAR, level VARCHAR, priority VARCHAR, region VARCHAR,
    team VARCHAR, assignee VARCHAR, status VARCHAR, created_at VARCHAR, due_at VARCHAR, sla_target_hours DOUBLE,
    elapsed_hours DOUBLE, sla_elapsed_pct DOUBLE, hours_to_breach DOUBLE, mention VARCHAR,
    policy VARCHAR, clock_state VARCHAR, risk_stage DOUBLE)`);
  // Owners are resolved for the replies only (the rest are in the CSV).
  const mention = picked.map((c, i) => (i < o.replyUpTo && o.mention ? o.mention(c) : null));
  await appendRows(
    tx, 'newc',
    [INTEGER, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, VARCHAR, DOUBLE, DOUBLE, DOUBLE, DOUBLE, VARCHAR,
      VARCHAR, VARCHAR, DOUBLE],
    [picked.map((_, i) => i), col('case_id'), picked.map(o.levelOf), col('priority'), col('region'), col('team'), col('assignee'),
      col('status'), col('created_at'), col('due_at'), col('sla_target_hours'), col('elapsed_hours'), col('sla_elapsed_pct'),
      col('hours_to_breach'), mention, col('policy'), col('clock_state'), col('risk_stage')],
  );
  await tx.x(
    `INSERT INTO alert_case (case_id, level, thread_id, rank, has_reply, priority, region, team, assignee, status, created_at,
       due_at, sla_target_hours, elapsed_hours, sla_elapsed_pct, hours_to_breach, alerted_at, version, shown_version, mention,
       policy, clock_state, risk_stage)
     SELECT case_id, level, $1, rank, rank < $2, priority, region, team, assignee, status, created_at, due_at,
       sla_target_hours, elapsed_hours, sla_elapsed_pct, hours_to_breach, $3::TIMESTAMP, 1,
       CASE WHEN rank < $2 THEN 0 ELSE 1 END, mention, policy, clock_state, risk_stage FROM newc`,
    [o.threadId, o.replyUpTo, o.now],
  );
  // Acknowledgements carry over to later steps of the same case (nothing to do while nobody acknowledged).
  const [{ acked }] = await tx.q<{ acked: boolean }>(`SELECT EXISTS (SELECT 1 FROM alert_case WHERE acked_by IS NOT NULL) AS acked`);
  if (acked) await tx.x(
    `UPDATE alert_case SET acked_by = k.acked_by, acked_at = k.acked_at
     FROM (SELECT a.case_id, arg_min(a.acked_by, a.acked_at) AS acked_by, min(a.acked_at) AS acked_at
           FROM alert_case a SEMI JOIN newc n ON n.case_id = a.case_id WHERE a.acked_by IS NOT NULL GROUP BY a.case_id) k
     WHERE alert_case.case_id = k.case_id AND alert_case.acked_by IS NULL AND alert_case.thread_id = $1`,
    [o.threadId],
  );
}

/** Progress of each case thread ("2 of 4 resolved"); a thread whose cases all resolved is resolved. */
async function finishProgress(tx: Tx, ctx: SweepContext, out: CaseDiff): Promise<CaseDiff> {
  if (out.resolved > 0 || out.reopened > 0) {
    await tx.x(
      `UPDATE alert_thread SET n_resolved = s.n, version = alert_thread.version + 1,
         resolved_at = CASE WHEN s.n >= alert_thread.total THEN coalesce(alert_thread.resolved_at, $1::TIMESTAMP) ELSE NULL END
       FROM (SELECT thread_id, count(DISTINCT case_id) FILTER (WHERE resolved_at IS NOT NULL)::INTEGER AS n FROM alert_case GROUP BY thread_id) s
       WHERE alert_thread.thread_id = s.thread_id AND alert_thread.kind = 'cases' AND alert_thread.n_resolved <> s.n`,
      [ctx.now],
    );
  }
  return out;
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

/**
 * One volume-anomaly alert per scope and day (contract 7) in the alert channel, high or
 * low; a low one also in `opsChannel` (when it is another channel), since a drop in created
 * cases often means the source stopped delivering. The judged day is complete, so the alert
 * is never cleared; sweeps on the same day add nothing, and nothing is posted while no scope
 * is anomalous. Returns the thread ids opened.
 */
export async function diffAnomalies(tx: Tx, report: KpiReport, ctx: SweepContext, opsChannel: string | null): Promise<string[]> {
  const opened: string[] = [];
  for (const row of report.volumeAnomaly ?? []) {
    if (!row.is_anomaly) continue;
    const targets: { threadId: string; channel: string; ops: boolean }[] = [{ threadId: `anomaly:${row.scope}:${row.date}`, channel: ctx.channel, ops: false }];
    if (row.direction === 'low' && opsChannel && opsChannel !== ctx.channel) {
      targets.push({ threadId: `anomaly-ops:${row.scope}:${row.date}`, channel: opsChannel, ops: true });
    }
    for (const t of targets) {
      const payload: AnomalyPayload = { ...row, ops: t.ops };
      if (await addThread(tx, ctx, { threadId: t.threadId, kind: 'anomaly', channel: t.channel, payload })) {
        opened.push(t.threadId);
        await addOutbox(tx, ctx, { msgId: `parent:${t.threadId}`, kind: 'parent', threadId: t.threadId, seq: await nextSeq(tx), channel: t.channel });
        // Nothing follows in the thread: mark it done, so it is purged with old alerts.
        await tx.x(`UPDATE alert_thread SET resolved_at = $2::TIMESTAMP WHERE thread_id = $1`, [t.threadId, ctx.now]);
      }
    }
  }
  return opened;
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
    `SELECT c.thread_id, c.case_id, coalesce(c.now_level, c.level) AS level, c.priority FROM alert_case c
     JOIN alert_outbox p ON p.msg_id = 'parent:' || c.thread_id AND p.state = 'sent'
     WHERE c.resolved_at IS NULL AND c.acked_by IS NULL AND c.has_reply
       AND (c.snoozed_until IS NULL OR c.snoozed_until <= $1::TIMESTAMP)
       AND c.alerted_at <= $2::TIMESTAMP AND (c.reminded_at IS NULL OR c.reminded_at <= $2::TIMESTAMP)
       AND NOT EXISTS (SELECT 1 FROM alert_case b WHERE b.case_id = c.case_id AND b.has_reply AND ${levelStageSql('b.level')} > ${levelStageSql('c.level')})
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
