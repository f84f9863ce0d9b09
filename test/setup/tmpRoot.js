/**
 * Jest globalSetup / globalTeardown: every temp folder the tests make (mkdtemp under
 * os.tmpdir(), DuckDB spill folders, ...) goes under one folder per test run, removed at
 * the end, so repeated runs leave nothing behind in the system temp folder.
 */
const { mkdtempSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

async function setup() {
  const root = mkdtempSync(join(tmpdir(), 'kpi-jest-'));
  process.env.KPI_TEST_TMP_ROOT = root;
  // os.tmpdir() reads TMPDIR on every call; jest's workers inherit it.
  process.env.TMPDIR = root;
}

async function teardown() {
  const root = process.env.KPI_TEST_TMP_ROOT;
  if (root) rmSync(root, { recursive: true, force: true });
}

module.exports = { setup, teardown };
