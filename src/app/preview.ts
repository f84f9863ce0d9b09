/**
 * Slack preview without Slack: `npm start` with no Slack settings writes the digest that
 * would be posted, as Block Kit JSON ready to paste into Block Kit Builder
 * (https://app.slack.com/block-kit-builder), and the trend chart PNG.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KpiReport } from '../contract/report';
import { writeAtomic } from '../render/files/csv';
import { renderDigest } from '../render/slack/digest';
import { digestChart } from '../jobs/digest';
import { type RunHistoryRow } from '../contract/runHistory';

export interface SlackPreviewFiles {
  /** outDir/slack/digest.json: {"blocks": [...]} */
  blocksPath: string;
  /** outDir/slack/trend.png */
  chartPath: string;
}

export function writeSlackPreview(
  report: KpiReport,
  previous: RunHistoryRow | null,
  outDir: string,
  opts: { dqMin?: number } = {},
): SlackPreviewFiles {
  const msg = renderDigest(report, previous, { dqMin: opts.dqMin ?? 90 });
  const chart = digestChart(report);
  const dir = join(outDir, 'slack');
  mkdirSync(dir, { recursive: true });
  const blocksPath = join(dir, 'digest.json');
  const chartPath = join(dir, 'trend.png');
  writeAtomic(blocksPath, `${JSON.stringify({ blocks: msg.blocks }, null, 2)}\n`);
  writeAtomic(chartPath, chart);
  return { blocksPath, chartPath };
}
