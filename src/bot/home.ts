/**
 * The App Home tab: each viewer sees the latest run for their teams (from the owner map,
 * KPI_ALERT_OWNERS: teams and assignees -> Slack user ID) and for all. Published with
 * views.publish when the viewer opens the tab (app_home_opened), and again after each new
 * run for every viewer seen since the process started.
 *
 * Numbers come from the latest-run cache (the same as /kpi): team figures are slices of
 * the run (the same KPI SQL on the team's cases). A viewer is matched by user ID; user-group
 * IDs in the owner map are for alert mentions and do not select a Home view.
 */
import type { WebClient } from '@slack/web-api';
import type { Settings } from '../config/settings';
import type { AlertRouting } from '../config/alertRoutes';

type OwnerMap = AlertRouting['owners'];
import type { Logger } from '../support/log';
import type { ReportService } from '../pipeline/runCache';
import { renderHome, type HomeTeam, type HomeView } from '../render/slack/home';
import { shortError } from '../support/errors';

export interface AppHome {
  /** The viewer's Home view from the latest run. */
  view(userId: string): Promise<HomeView>;
  /** Builds and publishes the viewer's Home view; remembers the viewer. */
  publish(client: WebClient, userId: string): Promise<void>;
  /** Publishes again for every viewer seen (after a new run). */
  refreshAll(client: WebClient): Promise<void>;
  /** Viewers seen (user IDs). */
  readonly seen: ReadonlySet<string>;
}

/** The teams and assignees the owner map gives a user. */
export function ownedBy(owners: OwnerMap, userId: string): { teams: string[]; assignees: string[] } {
  const mine = (m: Record<string, string>) => Object.entries(m).filter(([, id]) => id === userId).map(([name]) => name);
  return { teams: mine(owners.teams), assignees: mine(owners.assignees) };
}

export function createAppHome(settings: Settings, reports: ReportService, log: Logger): AppHome {
  const seen = new Set<string>();
  // Viewers whose view is being built: a run that their own view started does not publish it again.
  const building = new Set<string>();

  async function view(userId: string): Promise<HomeView> {
    let answer;
    try {
      answer = await reports.get();
    } catch (e) {
      return renderHome({ report: null, teams: [], assignees: [], error: shortError(e) });
    }
    const report = answer.report;
    const mine = ownedBy(settings.alertRouting?.owners ?? { assignees: {}, teams: {} }, userId);
    const teams: HomeTeam[] = [];
    for (const name of mine.teams) {
      const slice = await reports.get({ filter: { team: name } }).then((a) => a.report, () => null);
      teams.push({ name, report: slice && slice.dailyOps.cases_in_window > 0 ? slice : null });
    }
    return renderHome({ report, teams, assignees: mine.assignees });
  }

  async function publish(client: WebClient, userId: string): Promise<void> {
    seen.add(userId);
    building.add(userId);
    try {
      const v = await view(userId);
      await client.views.publish({ user_id: userId, view: v as unknown as Parameters<WebClient['views']['publish']>[0]['view'] });
    } finally {
      building.delete(userId);
    }
  }

  async function refreshAll(client: WebClient): Promise<void> {
    for (const userId of [...seen]) {
      if (building.has(userId)) continue;
      try {
        await publish(client, userId);
      } catch (e) {
        log.warn({ user: userId, err: shortError(e) }, 'App Home refresh failed');
      }
    }
  }

  return { view, publish, refreshAll, seen };
}
