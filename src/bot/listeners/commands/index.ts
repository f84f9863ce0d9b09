/** Slash command listeners: register(app, deps) wires /kpi (see ./kpi.ts). */
import type { App } from '@slack/bolt';
import { KPI_COMMAND, kpiCommandListener, type KpiCommandDeps } from './kpi';

export function register(app: App, deps: KpiCommandDeps): void {
  app.command(KPI_COMMAND, kpiCommandListener(deps));
}

export default { register };
