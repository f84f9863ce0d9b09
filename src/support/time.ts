/** Instants as the contract writes them. */

/** `2026-11-23T09:00:00Z`: ISO 8601 UTC to whole seconds, as the contract writes times. */
export function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
