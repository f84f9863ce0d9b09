/**
 * Counts as people read them, the same in the TXT report, the CLI and Slack: thousands
 * separators (1,234). CSV files keep plain numbers for machines.
 */
export function formatCount(n: number | null | undefined, empty = 'n/a'): string {
  return n === null || n === undefined || !Number.isFinite(n) ? empty : Math.round(n).toLocaleString('en-US');
}
