/**
 * Event listeners: app_home_opened publishes the viewer's Home tab (src/bot/home.ts).
 * Slack sends the event for the Messages tab too; only the Home tab is answered.
 */
import type { App } from '@slack/bolt';
import type { AppHome } from '../../home';
import type { Logger } from '../../../support/log';
import { shortError } from '../../../support/errors';

export function register(app: App, deps: { home: AppHome; log: Logger }): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab && event.tab !== 'home') return;
    try {
      await deps.home.publish(client, event.user);
    } catch (e) {
      deps.log.warn({ user: event.user, err: shortError(e) }, 'App Home could not be published');
    }
  });
}

export default { register };
