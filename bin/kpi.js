#!/usr/bin/env node
'use strict';
/**
 * The `kpi` command: loads dist/kpi.bundle.js (built by `npm run build`) with a V8 code
 * cache, so that a start reuses the code compiled by an earlier one instead of compiling
 * the bundle again (Node 22's module.enableCompileCache() does this for modules; Node 20
 * has no such switch).
 *
 * One cache file per command (run, serve, ...) and per bundle, Node version and platform,
 * written when the command's process exits if there was none or V8 rejected it. V8 checks
 * the file before using any of it; an unusable file only costs the compile it would have
 * saved.
 *
 *   KPI_CODE_CACHE   folder for the cache files, or "off" (default:
 *                    $XDG_CACHE_HOME/automate-kpi-calc or ~/.cache/automate-kpi-calc)
 *   NODE_DEBUG=kpi   says on stderr what the cache did
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');
const { createHash } = require('node:crypto');
const debug = require('node:util').debuglog('kpi');

const file = path.join(__dirname, '..', 'dist', 'kpi.bundle.js');

function cacheDir() {
  const v = process.env.KPI_CODE_CACHE;
  if (v === 'off' || v === '0' || v === 'false') return null;
  if (v) return path.resolve(v);
  try {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
    return path.join(base, 'automate-kpi-calc');
  } catch {
    return null; // no home folder: no cache
  }
}

function command() {
  const c = process.argv[2];
  return c && /^[a-z][a-z-]{0,30}$/.test(c) ? c : 'other';
}

let source;
try {
  source = fs.readFileSync(file, 'utf8');
} catch (e) {
  process.stderr.write(`kpi: cannot read ${file} (${e.code || e.message}); run "npm run build" first\n`);
  process.exit(1);
}

const dir = cacheDir();
const key = createHash('sha256').update(`${process.version} ${process.arch} ${process.platform}\n`).update(source).digest('hex').slice(0, 20);
const cacheFile = dir && path.join(dir, `kpi-${key}-${command()}.v8cache`);
let cachedData;
if (cacheFile) {
  try { cachedData = fs.readFileSync(cacheFile); } catch { /* none yet */ }
}
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
const usable = cachedData !== undefined && !script.cachedDataRejected;
debug('code cache %s: %s', cacheFile || 'off', usable ? 'used' : cachedData ? 'rejected' : 'none');

if (cacheFile && !usable) {
  process.once('exit', () => {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      fs.accessSync(dir, fs.constants.W_OK);
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, cacheFile);
      debug('code cache written: %s', cacheFile);
      // Files of earlier bundles or Node versions for this command are of no further use.
      const suffix = `-${command()}.v8cache`;
      for (const f of fs.readdirSync(dir)) {
        if (f.startsWith('kpi-') && f.endsWith(suffix) && path.join(dir, f) !== cacheFile) fs.rmSync(path.join(dir, f), { force: true });
      }
    } catch (e) {
      debug('code cache not written: %s', e.message);
    }
  });
}

const bundle = new Module(file, module);
bundle.filename = file;
bundle.paths = Module._nodeModulePaths(path.dirname(file));
script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, path.dirname(file));
