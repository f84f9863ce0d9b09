/**
 * The App Home tab: the viewer's slice of the latest run (their teams from the owner map:
 * compliance, backlog, at risk and breached; their cases nearest to breach) and the
 * numbers for all, with the run's time and source. Rendering only: every number comes
 * from the reports it is given.
 */
import type { AtRiskCase, KpiReport } from '../../contract/report';
import { DEMO_NOTICE } from '../demo';
import { type Block, context, divider, esc, formatDuration, header, int, localTime, pct, section, truncate } from './format';
import { attention } from '../attention';

export interface HomeTeam {
  /** The name as written in the owner map. */
  name: string;
  /** The latest run sliced to this team (null: the team has no case in the window). */
  report: KpiReport | null;
}

export interface HomeInput {
  /** The latest run (null: no run yet). */
  report: KpiReport | null;
  /** Teams mapped to the viewer in KPI_ALERT_OWNERS. */
  teams: HomeTeam[];
  /** Assignee names mapped to the viewer. */
  assignees: string[];
  /** Why there is no report (a failed run), shown instead of numbers. */
  error?: string;
}

export interface HomeView {
  type: 'home';
  blocks: Block[];
}

const MAX_CASES = 10;

function keyNumbers(r: KpiReport): Block {
  const d = r.dailyOps;
  return {
    type: 'section',
    fields: [
      { type: 'mrkdwn', text: `*SLA compliance*\n${pct(d.sla_compliance_pct)}` },
      { type: 'mrkdwn', text: `*Open backlog*\n${int(d.open_backlog)}` },
      { type: 'mrkdwn', text: `*At risk (open)*\n${int(d.at_risk_cases)}` },
      { type: 'mrkdwn', text: `*Breached (open)*\n${int(d.breached_open_cases)}` },
    ],
  };
}

/** Cases that can still be saved first (soonest due), then breached ones (most recent first): the shared attention order. */
function urgentFirst(cases: AtRiskCase[]): AtRiskCase[] {
  const a = attention(cases, Number.POSITIVE_INFINITY);
  return [...a.soon, ...a.newlyBreached];
}

function caseLine(c: AtRiskCase): string {
  const when = c.hours_to_breach === null ? `${c.risk_level === 'breached' ? ':red_circle: breached,' : ':large_orange_circle:'} clock paused`
    : c.risk_level === 'breached' ? `:red_circle: breached ${formatDuration(-c.hours_to_breach)} ago` : `:large_orange_circle: ${formatDuration(c.hours_to_breach)} to breach`;
  const who = [c.team, c.assignee ?? 'unassigned'].filter(Boolean).map((x) => esc(truncate(String(x), 30))).join(' · ');
  return `${when} · *${esc(truncate(c.case_id, 40))}* ${c.priority} · ${who}`;
}

const same = (a: string | null, b: string) => a !== null && a.toLowerCase() === b.toLowerCase();

export function renderHome(input: HomeInput): HomeView {
  const blocks: Block[] = [header(':bar_chart: Support KPIs')];
  const r = input.report;
  if (!r) {
    blocks.push(section(input.error ? `:warning: The latest KPI run failed: ${esc(truncate(input.error, 500))}` : 'No KPI run yet. The first digest or `/kpi summary` starts one.'));
    return { type: 'home', blocks };
  }
  const m = r.meta;
  if (m.demo) blocks.push(section(`:test_tube: *${DEMO_NOTICE}*`));
  blocks.push(context(`Latest run: as of *${localTime(m.asOf, m.reportTz)}* · last ${m.windowDays} days · source \`${esc(truncate(m.source.replace(/[^\s:]*[\\/]/g, ''), 60))}\``));

  // The viewer's slice
  blocks.push(section('*Your teams*'));
  const mine = input.teams.length + input.assignees.length > 0;
  if (!mine) {
    blocks.push(context('No team or assignee is mapped to you in `KPI_ALERT_OWNERS`. Ask an admin to add you: `{"teams": {"<team>": "<your member ID>"}}`.'));
  }
  for (const t of input.teams.slice(0, 10)) {
    if (!t.report) {
      blocks.push(section(`*${esc(truncate(t.name, 60))}*: no cases in the window`));
      continue;
    }
    blocks.push(section(`*${esc(truncate(t.name, 60))}*`));
    blocks.push(keyNumbers(t.report));
  }
  if (mine) {
    const cases = urgentFirst(r.atRiskCases.filter((c) => input.teams.some((t) => same(c.team, t.name)) || input.assignees.some((a) => same(c.assignee, a))));
    if (cases.length) {
      const shown = cases.slice(0, MAX_CASES).map(caseLine);
      const more = cases.length - shown.length;
      blocks.push(section(`*Your cases at risk or breached* (nearest to breach first)\n${shown.join('\n')}${more > 0 ? `\n_…and ${int(more)} more: \`/kpi risk\`_` : ''}`));
    } else {
      blocks.push(context(':white_check_mark: None of your cases is at risk or breached.'));
    }
  }

  // Everyone
  blocks.push(divider());
  blocks.push(section('*All teams*'));
  blocks.push(keyNumbers(r));
  blocks.push(context(`Data quality ${r.dailyOps.data_quality_score.toFixed(1)} · refreshed after each run · \`/kpi summary\` for more`));
  return { type: 'home', blocks: blocks.slice(0, 100) };
}
