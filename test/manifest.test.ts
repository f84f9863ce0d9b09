/**
 * manifest.yml is valid against Slack's app manifest JSON schema (draft-07), vendored
 * outside the repo at ../shared/vendor/. Skips when that file is absent (fresh clone).
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';

const SCHEMA = resolve(__dirname, '../../shared/vendor/slack-manifest.schema.1.0.0.json');
const MANIFEST = resolve(__dirname, '../manifest.yml');

type Manifest = {
  features: { slash_commands: { command: string; url: string; usage_hint?: string }[]; bot_user: { display_name: string }; app_home: { home_tab_enabled: boolean } };
  oauth_config: { scopes: { bot: string[] } };
  settings: { interactivity: { is_enabled: boolean; request_url: string }; socket_mode_enabled: boolean; event_subscriptions?: { request_url: string; bot_events: string[] } };
};

const manifest = parse(readFileSync(MANIFEST, 'utf8')) as Manifest;

test('manifest has the /kpi command, the scopes the bot uses and interactivity', () => {
  const kpi = manifest.features.slash_commands.find((c) => c.command === '/kpi');
  expect(kpi).toBeDefined();
  expect(kpi!.url).toBe('https://YOUR-HOST/slack/events');
  expect(kpi!.usage_hint).toBeTruthy();
  // channels:read / groups:read: kpi doctor's membership check; the history scopes: the "already posted?" lookup.
  expect(manifest.oauth_config.scopes.bot.sort()).toEqual(['channels:history', 'channels:read', 'chat:write', 'commands', 'files:write', 'groups:history', 'groups:read', 'im:write']);
  expect(manifest.settings.interactivity).toEqual({ is_enabled: true, request_url: 'https://YOUR-HOST/slack/events' });
  expect(typeof manifest.settings.socket_mode_enabled).toBe('boolean');
  // App Home: the Home tab, published on app_home_opened
  expect(manifest.features.app_home.home_tab_enabled).toBe(true);
  expect(manifest.settings.event_subscriptions).toEqual({ request_url: 'https://YOUR-HOST/slack/events', bot_events: ['app_home_opened'] });
});

const haveSchema = existsSync(SCHEMA);
if (!haveSchema) {
  // eslint-disable-next-line no-console
  console.warn(`manifest schema not found at ${SCHEMA}: schema validation skipped`);
}
(haveSchema ? test : test.skip)('manifest validates against the Slack manifest schema (draft-07)', () => {
  const schema = JSON.parse(readFileSync(SCHEMA, 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  // The schema uses a non-standard "regex" keyword (e.g. background_color): enforce it too.
  ajv.addKeyword({
    keyword: 'regex',
    type: 'string',
    schemaType: 'string',
    validate: (pattern: string, data: string) => new RegExp(pattern).test(data),
  });
  const validate = ajv.compile(schema);
  const ok = validate(manifest);
  expect(validate.errors ?? []).toEqual([]);
  expect(ok).toBe(true);

  // and the validator really rejects a broken manifest
  const broken = JSON.parse(JSON.stringify(manifest)) as Record<string, unknown> & { display_information: Record<string, unknown> };
  broken.display_information.background_color = 'blue';
  (broken as Record<string, unknown>).unknown_section = true;
  expect(validate(broken)).toBe(false);
});
