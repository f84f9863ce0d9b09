/**
 * One pipeline run: source -> normalise/clean (SQL) -> KPI core (SQL) -> one typed report
 * -> validation -> writers (output/) -> run history. Slack and the CLI call this.
 */
import type { Settings } from './config';
import type { Logger } from './log';
import type { CaseSource } from './sources/types';
import type { CaseFilter, KpiReport } from './kpi/types';

export type Trigger = 'cli' | 'start' | 'schedule' | 'slack' | 'alert' | 'bench' | 'test';

export interface RunOptions {
  settings: Settings;
  log?: Logger;
  /** Default: createSource(settings). */
  source?: CaseSource;
  /** Default: settings.KPI_AS_OF, else now (whole seconds). */
  asOf?: Date;
  /** Default: settings.KPI_OUTPUT_DIR; null writes no files. */
  outDir?: string | null;
  trigger?: Trigger;
  /** Record the run in run_history (default true). */
  recordHistory?: boolean;
  /** Keep the cleaned cases in memory for filtered re-computation (slash commands). */
  keepData?: boolean;
  /** Called as each stage starts (progress display). */
  onStage?: (stage: string) => void;
}

/** The cleaned cases of a run, kept in memory: recompute any report slice without re-reading the source. */
export interface CaseSet {
  compute(filter?: CaseFilter, overrides?: { windowDays?: number }): Promise<KpiReport>;
  close(): void;
}

export interface RunResult {
  report: KpiReport;
  /** Paths written. */
  files: string[];
  /** Present when keepData was set; the caller must close() it. */
  data?: CaseSet;
}

export async function runPipeline(_opts: RunOptions): Promise<RunResult> {
  throw new Error('not implemented yet');
}
