/**
 * The words every output uses when its numbers come from the generated demo data, so a
 * demo is never mistaken for real support numbers.
 */
export const DEMO_NOTICE = 'DEMO DATA: generated sample cases, not your support data';
/** Short form for headers. */
export const DEMO_TAG = 'DEMO DATA';
