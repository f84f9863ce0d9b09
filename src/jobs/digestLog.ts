/**
 * The digest log (digest_log.sql): the daily digest claims (date, channel) before it posts,
 * so it goes out once a day across restarts and processes; a failed post releases the claim.
 */
import { query } from '../db/engine';
import { registerSchema, withStore } from '../db/stateStore';
import { sqlText } from '../db/sqlFiles';

registerSchema('digest_log', sqlText('jobs/digest_log.sql'));

// withStore() queues this process's accesses to one file, so claims cannot interleave.

function tsLiteral(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

export interface Claim {
  date: string;
  channel: string;
  /** claimed_at we wrote: the claim's token for release. */
  claimedAt: string;
  /** Taken over from a claim left without ts (its owner may have posted before it died). */
  takenOver?: boolean;
}

export interface ExistingClaim {
  ts: string | null;
  claimed_at: string;
}

/** Claims (date, channel). Returns the claim, or the existing row when someone else holds it. */
export async function claimDigest(dbPath: string, date: string, channel: string, now: Date, staleMs: number): Promise<{ claim: Claim } | { existing: ExistingClaim }> {
  const claimedAt = tsLiteral(now);
  return withStore(dbPath, async (c) => {
    const inserted = await query(c,
      `INSERT INTO digest_log (digest_date, channel, claimed_at) VALUES (CAST($1 AS DATE), $2, CAST($3 AS TIMESTAMP))
       ON CONFLICT DO NOTHING RETURNING channel`, [date, channel, claimedAt]);
    if (inserted.length === 1) return { claim: { date, channel, claimedAt } };
    const takenOver = await query(c,
      `UPDATE digest_log SET claimed_at = CAST($3 AS TIMESTAMP)
       WHERE digest_date = CAST($1 AS DATE) AND channel = $2 AND ts IS NULL AND claimed_at < CAST($4 AS TIMESTAMP)
       RETURNING channel`, [date, channel, claimedAt, tsLiteral(new Date(now.getTime() - staleMs))]);
    if (takenOver.length === 1) return { claim: { date, channel, claimedAt, takenOver: true } };
    const rows = await query<ExistingClaim>(c,
      `SELECT ts, strftime(claimed_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS claimed_at FROM digest_log
       WHERE digest_date = CAST($1 AS DATE) AND channel = $2`, [date, channel]);
    return { existing: rows[0] ?? { ts: null, claimed_at: '' } };
  });
}

/** Releases a claim that has not been completed (no ts), if it is still ours. */
export async function releaseDigest(dbPath: string, claim: Claim): Promise<void> {
  await withStore(dbPath, (c) => c.run(
    `DELETE FROM digest_log WHERE digest_date = CAST($1 AS DATE) AND channel = $2 AND ts IS NULL AND claimed_at = CAST($3 AS TIMESTAMP)`,
    [claim.date, claim.channel, claim.claimedAt]));
}

export async function completeDigest(dbPath: string, claim: Claim, ts: string): Promise<void> {
  await withStore(dbPath, (c) => c.run(
    `UPDATE digest_log SET ts = $3 WHERE digest_date = CAST($1 AS DATE) AND channel = $2`,
    [claim.date, claim.channel, ts]));
}

export interface DigestLogRow {
  digest_date: string;
  channel: string;
  claimed_at: string;
  ts: string | null;
}

export async function readDigestLog(dbPath: string): Promise<DigestLogRow[]> {
  return withStore(dbPath, (c) => query<DigestLogRow>(c,
    `SELECT strftime(digest_date, '%Y-%m-%d') AS digest_date, channel,
            strftime(claimed_at, '%Y-%m-%dT%H:%M:%SZ') AS claimed_at, ts
     FROM digest_log ORDER BY digest_date, channel`));
}
