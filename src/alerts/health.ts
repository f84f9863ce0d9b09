/**
 * Pipeline health for the on-call channel: a scheduled run that fails (source unreachable,
 * bad settings) or data that went stale (newest created_at older than KPI_STALE_HOURS) is
 * one alert to KPI_OPS_CHANNEL (else KPI_ALERT_CHANNEL); nothing more while it lasts (a
 * changed cause edits the alert); one recovery reply when it ends.
 *
 * Two checks, each with its own incident: 'run' (did the run succeed) and 'freshness'
 * (is the data recent). `getHealth(dbPath)` is what `/kpi status` shows.
 */
import { existsSync } from 'node:fs';
import type { KpiReport } from '../contract/report';
import { alertTx, type Tx } from './db';
import { formatDuration, formatTime } from '../render/slack/format';
import { addOutbox, addThread, nextSeq, type SweepContext } from './state';
import { type CheckStatus, type CheckName, type HealthReport } from '../contract/status';




const UNKNOWN: CheckStatus = { status: 'unknown', since: null, cause: null, lastCheckedAt: null, lastOkAt: null, incidents: 0 };

interface HealthRow {
  check_name: string;
  status: 'ok' | 'failing';
  since: string | null;
  cause: string | null;
  thread_id: string | null;
  incidents: number;
  last_checked_at: string | null;
  last_ok_at: string | null;
  detail: string | null;
}

/**
 * Moves one check to ok/failing inside the sweep's transaction and queues the messages:
 * a new incident posts its alert; a recovery replies in the incident's thread (broadcast
 * to the channel) and marks the alert recovered.
 */
export async function applyCheck(tx: Tx, ctx: SweepContext, check: CheckName, failing: boolean, cause: string | null, recoveryText?: string): Promise<'opened' | 'ongoing' | 'recovered' | 'ok'> {
  const [row] = await tx.q<HealthRow>(`SELECT * FROM alert_health WHERE check_name = $1`, [check]);
  if (failing) {
    if (row && row.status === 'failing') {
      if (cause && cause !== row.cause && row.thread_id) {
        // Same incident, new cause: edit the alert, do not post again.
        const [t] = await tx.q<{ payload: string }>(`SELECT payload FROM alert_thread WHERE thread_id = $1`, [row.thread_id]);
        if (t) {
          const p = { ...JSON.parse(t.payload), cause };
          await tx.x(`UPDATE alert_thread SET payload = $2, version = version + 1 WHERE thread_id = $1`, [row.thread_id, JSON.stringify(p)]);
        }
      }
      await tx.x(`UPDATE alert_health SET cause = $2, last_checked_at = $3::TIMESTAMP WHERE check_name = $1`, [check, cause, ctx.now]);
      return 'ongoing';
    }
    const incidents = (row?.incidents ?? 0) + 1;
    const threadId = `health:${check}:${incidents}`;
    await addThread(tx, ctx, { threadId, kind: 'health', channel: ctx.channel, payload: { check, cause, since: ctx.now } });
    await addOutbox(tx, ctx, { msgId: `parent:${threadId}`, kind: 'parent', threadId, seq: await nextSeq(tx), channel: ctx.channel });
    await tx.x(
      `INSERT OR REPLACE INTO alert_health (check_name, status, since, cause, thread_id, incidents, last_checked_at, last_ok_at, detail)
       VALUES ($1, 'failing', $2::TIMESTAMP, $3, $4, $5, $2::TIMESTAMP, $6::TIMESTAMP, NULL)`,
      [check, ctx.now, cause, threadId, incidents, row?.last_ok_at ?? null],
    );
    return 'opened';
  }
  let result: 'recovered' | 'ok' = 'ok';
  if (row && row.status === 'failing' && row.thread_id) {
    await tx.x(`UPDATE alert_thread SET resolved_at = $2::TIMESTAMP, version = version + 1 WHERE thread_id = $1`, [row.thread_id, ctx.now]);
    const lasted = formatDuration((Date.parse(ctx.now) - Date.parse(row.since ?? ctx.now)) / 3_600_000);
    await addOutbox(tx, ctx, {
      msgId: `recover:${row.thread_id}`, kind: 'notice', threadId: row.thread_id, seq: await nextSeq(tx), channel: ctx.channel, broadcast: true,
      text: `:white_check_mark: ${recoveryText ?? 'Recovered'} (after ${lasted}).`,
    });
    result = 'recovered';
  }
  await tx.x(
    `INSERT OR REPLACE INTO alert_health (check_name, status, since, cause, thread_id, incidents, last_checked_at, last_ok_at, detail)
     VALUES ($1, 'ok', $2::TIMESTAMP, NULL, NULL, $3, $4::TIMESTAMP, $4::TIMESTAMP, NULL)`,
    [check, row && row.status === 'ok' ? row.since : ctx.now, row?.incidents ?? 0, ctx.now],
  );
  return result;
}

/** Is the data stale? Returns the cause, or null when fresh. staleHours 0 turns the check off. */
export function staleness(report: KpiReport, now: string, staleHours: number, tz: string): string | null {
  if (!(staleHours > 0)) return null;
  const newest = report.meta.newestCreatedAt;
  if (!newest) return `no cases at all in the ${report.meta.windowDays}-day window (limit ${staleHours} h)`;
  const ageH = (Date.parse(now) - Date.parse(newest)) / 3_600_000;
  if (ageH <= staleHours) return null;
  return `newest case created ${formatTime(newest, tz)}, more than ${staleHours} h before the check (limit KPI_STALE_HOURS=${staleHours})`;
}

export async function recordSweep(tx: Tx, now: string, detail: Record<string, unknown>): Promise<void> {
  await tx.x(
    `INSERT OR REPLACE INTO alert_health (check_name, status, since, cause, thread_id, incidents, last_checked_at, last_ok_at, detail)
     VALUES ('sweep', 'ok', NULL, NULL, NULL, 0, $1::TIMESTAMP, NULL, $2)`,
    [now, JSON.stringify(detail)],
  );
}

function toStatus(r: HealthRow | undefined): CheckStatus {
  if (!r) return { ...UNKNOWN };
  return { status: r.status, since: r.since, cause: r.cause, lastCheckedAt: r.last_checked_at, lastOkAt: r.last_ok_at, incidents: r.incidents };
}

/**
 * Health of the scheduled runs and of the alerts, for `/kpi status`. Read-only; a database
 * without alert state yet gives 'unknown' checks.
 */
export async function getHealth(dbPath: string): Promise<HealthReport> {
  const empty: HealthReport = {
    ok: false, run: { ...UNKNOWN }, freshness: { ...UNKNOWN }, lastSweepAt: null, lastSweep: null,
    pendingMessages: 0, openAlertedCases: 0, openSpikes: 0,
  };
  if (dbPath !== ':memory:' && !existsSync(dbPath)) return empty;
  try {
    return await alertTx(dbPath, async (tx) => {
      const rows = await tx.q<HealthRow>(`SELECT * FROM alert_health`);
      const by = new Map(rows.map((r) => [r.check_name, r]));
      const [c] = await tx.q<{ pending: number; open_cases: number; open_spikes: number }>(
        `SELECT (SELECT count(*) FROM alert_outbox WHERE state = 'pending') AS pending,
                (SELECT count(*) FROM alert_case WHERE resolved_at IS NULL) AS open_cases,
                (SELECT count(*) FROM alert_thread WHERE kind = 'spike' AND resolved_at IS NULL AND payload NOT LIKE '%"superseded":true%') AS open_spikes`,
      );
      const run = toStatus(by.get('run'));
      const freshness = toStatus(by.get('freshness'));
      const sweep = by.get('sweep');
      return {
        ok: run.status === 'ok' && freshness.status === 'ok',
        run, freshness,
        lastSweepAt: sweep?.last_checked_at ?? null,
        lastSweep: sweep?.detail ? (JSON.parse(sweep.detail) as Record<string, unknown>) : null,
        pendingMessages: c.pending, openAlertedCases: c.open_cases, openSpikes: c.open_spikes,
      };
    }, { readOnly: true });
  } catch {
    // No alert tables yet (or the file is not a database we know): nothing to report.
    return empty;
  }
}
