import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSlackPreview } from '../src/app/preview';
import { makeReport } from './fixtures/report';
import { expectWithinLimits } from './fixtures/blockLimits';

test('writes pasteable Block Kit JSON and the trend PNG under output/slack', () => {
  const dir = mkdtempSync(join(tmpdir(), 'preview-'));
  try {
    const r = makeReport();
    r.dailyOps = { ...r.dailyOps, data_quality_score: 50 };
    const files = writeSlackPreview(r, null, dir, { dqMin: 90 });
    expect(files).toEqual({ blocksPath: join(dir, 'slack', 'digest.json'), chartPath: join(dir, 'slack', 'trend.png') });
    const json = JSON.parse(readFileSync(files.blocksPath, 'utf8')) as { blocks: object[] };
    expect(Object.keys(json)).toEqual(['blocks']);
    expectWithinLimits(json.blocks);
    expect(JSON.stringify(json)).toContain('Provisional numbers');
    expect(readFileSync(files.chartPath).subarray(1, 4).toString()).toBe('PNG');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
