/**
 * Alert routing and owners (docs/alerts.md, "Routing and owners").
 *
 * `KPI_ALERT_ROUTES`: inline JSON, or the path of a YAML or JSON file, holding a list of
 * routes (or `{ routes: [...] }`). The first route whose `match` fits a case takes it:
 *
 *   - match: { priority: [P1, P2], team: Billing }   # priority / team / region / policy; a value or a list
 *     channel: C0P1ALERTS                            # channel id (C…/G…) or name
 *     min_stage: at_risk                             # at_risk (default), a risk stage such as 75 (percent), or breached
 *
 * A case below its route's `min_stage` is not alerted until it reaches it: a number is a
 * risk stage (the case's risk_stage, breached counting as 100), so with the stages 50/75/90 of
 * an SLA policy file a route can stay quiet until a case is 75% through its clock. A case no route
 * matches goes to KPI_ALERT_CHANNEL.
 *
 * `KPI_ALERT_OWNERS`: inline JSON or a YAML/JSON file: `{ assignees: { agent-7: U0123ABCD },
 * teams: { Billing: S0456EFGH } }`. A reply mentions the case's assignee's owner, else its
 * team's: `<@U…>` for a user, `<!subteam^S…>` for a user group; no other mention is ever
 * emitted.
 *
 * Every mistake is a ConfigError naming the variable (and the file and route).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

/** The steps of a case, in order (a route's min_stage is one of them). */
export const ALERT_STAGES = ['at_risk', 'breached'] as const;
export type AlertStage = (typeof ALERT_STAGES)[number];
export const ROUTE_KEYS = ['priority', 'team', 'region', 'policy'] as const;
export type RouteKey = (typeof ROUTE_KEYS)[number];

export interface AlertRoute {
  match: Partial<Record<RouteKey, string[]>>;
  channel: string;
  /** A step, or a risk stage in percent (1-100; breached counts as 100). */
  minStage: AlertStage | number;
}

export interface AlertRouting {
  routes: AlertRoute[];
  owners: { assignees: Record<string, string>; teams: Record<string, string> };
}

export class AlertRoutingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Inline JSON, or a YAML/JSON file. `what` names the setting for errors. */
function readValue(raw: string, what: string): { value: unknown; where: string } {
  const t = raw.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return { value: JSON.parse(t), where: what };
    } catch (e) {
      throw new AlertRoutingError(`Invalid setting: ${what}: not valid JSON (${(e as Error).message}); give JSON or the path of a YAML/JSON file`);
    }
  }
  if (!existsSync(t)) throw new AlertRoutingError(`Invalid setting: ${what}: file "${t}" not found (give JSON or the path of a YAML/JSON file)`);
  try {
    return { value: parseYaml(readFileSync(t, 'utf8')), where: `${what} (${t})` };
  } catch (e) {
    throw new AlertRoutingError(`Invalid setting: ${what} (${t}): ${(e as Error).message.split('\n')[0]}`);
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseRoutes(raw: string): AlertRoute[] {
  const { value, where } = readValue(raw, 'KPI_ALERT_ROUTES');
  const list = Array.isArray(value) ? value : isObj(value) && Array.isArray(value.routes) ? value.routes : null;
  if (!list) throw new AlertRoutingError(`Invalid setting: ${where}: expected a list of routes (or { routes: [...] })`);
  return list.map((r: unknown, i: number) => {
    const at = `${where}: route ${i + 1}`;
    if (!isObj(r)) throw new AlertRoutingError(`Invalid setting: ${at}: expected { match, channel, min_stage }`);
    for (const k of Object.keys(r)) {
      if (!['match', 'channel', 'min_stage'].includes(k)) throw new AlertRoutingError(`Invalid setting: ${at}: unknown key "${k}" (allowed: match, channel, min_stage)`);
    }
    if (typeof r.channel !== 'string' || !r.channel.trim()) throw new AlertRoutingError(`Invalid setting: ${at}: "channel" must be a channel id such as C0123456789`);
    const stage = minStageOf(r.min_stage, at);
    const match: AlertRoute['match'] = {};
    if (r.match !== undefined) {
      if (!isObj(r.match)) throw new AlertRoutingError(`Invalid setting: ${at}: "match" must be an object such as { priority: [P1] }`);
      for (const [k, v] of Object.entries(r.match)) {
        if (!(ROUTE_KEYS as readonly string[]).includes(k)) throw new AlertRoutingError(`Invalid setting: ${at}: cannot match on "${k}" (allowed: ${ROUTE_KEYS.join(', ')})`);
        const vals = (Array.isArray(v) ? v : [v]).map((x) => String(x));
        match[k as RouteKey] = k === 'priority' ? vals.map((x) => x.toUpperCase()) : vals;
      }
    }
    return { match, channel: r.channel.trim(), minStage: stage };
  });
}

/** A route's min_stage: at_risk (default), breached, or a risk stage in percent such as 75 or "75%". */
function minStageOf(raw: unknown, at: string): AlertStage | number {
  if (raw === undefined) return 'at_risk';
  const text = String(raw).trim();
  if ((ALERT_STAGES as readonly string[]).includes(text)) return text as AlertStage;
  const m = /^(\d+(?:\.\d+)?)\s*%?$/.exec(text);
  if (m && Number(m[1]) > 0 && Number(m[1]) <= 100) return Number(m[1]);
  throw new AlertRoutingError(`Invalid setting: ${at}: min_stage "${text}" is not one of ${ALERT_STAGES.join(', ')} or a risk stage in percent (1-100, e.g. 75)`);
}

const MENTION_ID = /^[USW][A-Z0-9]{2,}$/;

function parseOwners(raw: string): AlertRouting['owners'] {
  const { value, where } = readValue(raw, 'KPI_ALERT_OWNERS');
  if (!isObj(value)) throw new AlertRoutingError(`Invalid setting: ${where}: expected { assignees: {...}, teams: {...} }`);
  const out: AlertRouting['owners'] = { assignees: {}, teams: {} };
  for (const [k, v] of Object.entries(value)) {
    if (k !== 'assignees' && k !== 'teams') throw new AlertRoutingError(`Invalid setting: ${where}: unknown key "${k}" (allowed: assignees, teams)`);
    if (!isObj(v)) throw new AlertRoutingError(`Invalid setting: ${where}: "${k}" must map names to Slack ids`);
    for (const [name, id] of Object.entries(v)) {
      const s = String(id).trim();
      if (!MENTION_ID.test(s)) {
        throw new AlertRoutingError(`Invalid setting: ${where}: ${k}."${name}": "${s}" is not a Slack user ID (U…) or user-group ID (S…)`);
      }
      out[k][name] = s;
    }
  }
  return out;
}

export function parseAlertRouting(s: { KPI_ALERT_ROUTES?: string; KPI_ALERT_OWNERS?: string }): AlertRouting {
  return {
    routes: s.KPI_ALERT_ROUTES ? parseRoutes(s.KPI_ALERT_ROUTES) : [],
    owners: s.KPI_ALERT_OWNERS ? parseOwners(s.KPI_ALERT_OWNERS) : { assignees: {}, teams: {} },
  };
}

type Routable = { priority?: string | null; team?: string | null; region?: string | null; risk_level?: string; risk_stage?: number | null } & Record<string, unknown>;

/**
 * Where a case's alert goes: the first matching route's channel, or `fallback`; null when
 * the matching route wants a later stage than the case is at.
 */
export function routeCase(routing: AlertRouting, c: Routable, fallback: string): string | null {
  for (const r of routing.routes) {
    const fits = Object.entries(r.match).every(([k, vals]) => {
      const v = k === 'policy' ? (c.policy ?? c.sla_policy ?? null) : c[k];
      return v !== null && v !== undefined && vals!.includes(String(v));
    });
    if (!fits) continue;
    if (typeof r.minStage === 'number') {
      const stage = c.risk_level === 'breached' ? 100 : Number(c.risk_stage ?? 0);
      return stage >= r.minStage ? r.channel : null;
    }
    const at = ALERT_STAGES.indexOf((c.risk_level ?? 'at_risk') as AlertStage);
    return at >= ALERT_STAGES.indexOf(r.minStage) ? r.channel : null;
  }
  return fallback;
}

/** `<@U…>` / `<!subteam^S…>` for the case's owner (assignee first, then team), or null. */
export function ownerMention(routing: AlertRouting, c: { assignee?: string | null; team?: string | null }): string | null {
  const id = (c.assignee ? routing.owners.assignees[c.assignee] : undefined) ?? (c.team ? routing.owners.teams[c.team] : undefined);
  if (!id) return null;
  return id.startsWith('S') ? `<!subteam^${id}>` : `<@${id}>`;
}
