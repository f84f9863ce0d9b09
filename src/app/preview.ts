/**
 * Slack preview without Slack: `npm start` with no Slack settings writes the digest that
 * would be posted, as Block Kit JSON ready to paste into Block Kit Builder
 * (https://app.slack.com/block-kit-builder), and the two chart PNGs of its thread. Give it
 * the run `findPrevious` (src/jobs/digest.ts) picks, and it is exactly what the digest job
 * would post now.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { KpiReport } from '../contract/report';
import { writeAtomic } from '../render/files/csv';
import { renderDigest } from '../render/slack/digest';
import { complianceChart, digestChart } from '../jobs/digest';
import { type RunHistoryRow } from '../contract/runHistory';

export interface SlackPreviewFiles {
  /** outDir/slack/digest.json: {"blocks": [...]} */
  blocksPath: string;
  /** outDir/slack/trend.png */
  chartPath: string;
  /** outDir/slack/sla_compliance.png (when the report has the per-day series) */
  compliancePath?: string;
}

export function writeSlackPreview(
  report: KpiReport,
  previous: RunHistoryRow | null,
  outDir: string,
  opts: { dqMin?: number; goalPct?: number } = {},
): SlackPreviewFiles {
  const msg = renderDigest(report, previous, { dqMin: opts.dqMin ?? 90 });
  const chart = digestChart(report);
  const compliance = complianceChart(report, opts.goalPct ?? 95);
  const dir = join(outDir, 'slack');
  mkdirSync(dir, { recursive: true });
  const blocksPath = join(dir, 'digest.json');
  const chartPath = join(dir, 'trend.png');
  writeAtomic(blocksPath, `${JSON.stringify({ blocks: msg.blocks }, null, 2)}\n`);
  writeAtomic(chartPath, chart);
  if (!compliance) return { blocksPath, chartPath };
  const compliancePath = join(dir, 'sla_compliance.png');
  writeAtomic(compliancePath, compliance);
  return { blocksPath, chartPath, compliancePath };
}
