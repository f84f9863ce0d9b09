/**
 * Imported first by the CLI: for `kpi run`, the run's in-memory database is created on a
 * worker thread while the remaining modules load, so a run does not wait for it.
 */
import { prestartMemoryEngine } from '../db/engine';

if (process.argv[2] === 'run') prestartMemoryEngine();
