/**
 * `npm start`: with Slack settings, starts the Slack app (same as `kpi serve`). Without
 * them, runs the pipeline once on the configured source (the embedded demo data by
 * default), writes output/ and output/slack/ (the digest's Block Kit preview), and prints
 * the daily ops summary.
 */
import { ConfigError, defaultEnv, hasSlackSettings, loadSettings, secretValues } from '../config/settings';
import { createLogger, registerSecrets } from '../support/log';
import { runPipeline } from '../pipeline/run';
import { renderDailyOpsText } from '../render/files/text';
import { findPrevious } from '../jobs/digest';
import { errorText } from '../support/errors';
import { failureText } from './failure';

async function main(): Promise<void> {
  const settings = loadSettings(defaultEnv());
  registerSecrets(secretValues(settings));
  if (hasSlackSettings(settings)) {
    const { serve } = await import('./serve');
    const log = createLogger({ dir: settings.KPI_LOG_DIR, level: settings.KPI_LOG_LEVEL, stderr: true });
    const handle = await serve(settings, { log });
    const stop = () => { void handle.stop().finally(() => process.exit(0)); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    return;
  }
  const log = createLogger({ dir: settings.KPI_LOG_DIR, level: settings.KPI_LOG_LEVEL });
  process.stderr.write(`No Slack settings: running the pipeline once on the ${settings.KPI_SOURCE} source (see README to connect Slack).\n`);
  const { report, files } = await runPipeline({ settings, log, trigger: 'start' });
  // The same comparison run as the digest job, so the preview is what it would post now.
  const previous = await findPrevious(settings.KPI_STATE_PATH, report, log);
  let preview = '';
  try {
    const { writeSlackPreview } = await import('./preview');
    const written = writeSlackPreview(report, previous, settings.KPI_OUTPUT_DIR, { dqMin: settings.KPI_DQ_MIN, goalPct: settings.KPI_SLA_GOAL_PCT });
    preview = `, and the Slack digest preview to ${written.blocksPath} (paste into Block Kit Builder), ${[written.chartPath, written.compliancePath].filter(Boolean).join(' and ')}`;
  } catch (e) {
    log.warn({ stage: 'preview' }, `Slack preview not written: ${errorText(e)}`);
  }
  process.stdout.write(renderDailyOpsText(report));
  process.stdout.write(`\nWrote ${files.length} files to ${settings.KPI_OUTPUT_DIR}/${preview}.\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(failureText(e));
  process.exit(e instanceof ConfigError ? 2 : 1);
});
