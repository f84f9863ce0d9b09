/** Child-process helper for tests: claims a digest in a DuckDB file and prints the outcome. */
import { claimDigest } from '../../src/jobs/digestLog';

async function main(): Promise<void> {
  const [db, date, channel, at] = process.argv.slice(2);
  const r = await claimDigest(db, date, channel, at ? new Date(at) : new Date(), 60 * 60_000);
  process.stdout.write(JSON.stringify({ claimed: 'claim' in r }));
}
main().catch((e: Error) => {
  process.stderr.write(e.message);
  process.exit(1);
});
