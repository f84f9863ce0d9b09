/**
 * The layout stays true: every import under src/ goes to the same folder or to a folder
 * listed before it in LAYERS (README, "Architecture"). The KPI core never reads settings
 * and never talks to Slack, and nothing outside sources/ loads a database driver other
 * than DuckDB's.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';

const SRC = resolve(__dirname, '../../src');

export const LAYERS = [
  'contract', 'support', 'config', 'db', 'sources', 'kpi', 'render', 'slack-api', 'pipeline', 'alerts', 'jobs', 'bot', 'app',
] as const;

/** Extra rules on top of the order: folder -> folders it must not import even though they come before it. */
const FORBIDDEN: Record<string, string[]> = {
  kpi: ['config', 'sources'],
  render: ['config', 'db', 'sources'],
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? tsFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Relative import specifiers of a file: static, type-only, dynamic and require. */
function importsOf(text: string): string[] {
  const out: string[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1]);
  return out;
}

const folderOf = (file: string) => relative(SRC, file).split(/[\\/]/)[0];

interface Edge { from: string; to: string; file: string; spec: string }

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of tsFiles(SRC)) {
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      const rel = relative(SRC, target);
      if (rel.startsWith('..')) throw new Error(`${relative(SRC, file)} imports ${spec}, outside src/`);
      out.push({ from: folderOf(file), to: rel.split(/[\\/]/)[0].replace(/\.ts$/, ''), file: posix.normalize(relative(SRC, file)), spec });
    }
  }
  return out;
}

describe('layers', () => {
  const all = edges();

  it('every file of src/ lives in a layer folder', () => {
    const stray = tsFiles(SRC).map(folderOf).filter((f) => !(LAYERS as readonly string[]).includes(f));
    expect(stray).toEqual([]);
  });

  it('each folder imports only itself and the folders before it', () => {
    const rank = (f: string) => (LAYERS as readonly string[]).indexOf(f);
    const wrong = all.filter((e) => e.from !== e.to && !(rank(e.to) >= 0 && rank(e.to) < rank(e.from)))
      .map((e) => `${e.file} imports ${e.spec} (${e.from} -> ${e.to})`);
    expect(wrong).toEqual([]);
  });

  it('the KPI core reads no settings and the renderers do no I/O of their own', () => {
    const wrong = all.filter((e) => FORBIDDEN[e.from]?.includes(e.to)).map((e) => `${e.file} imports ${e.spec}`);
    expect(wrong).toEqual([]);
  });

  it('no two folders import each other (no folder cycles)', () => {
    const pairs = new Set(all.filter((e) => e.from !== e.to).map((e) => `${e.from}>${e.to}`));
    const cycles = [...pairs].filter((p) => { const [a, b] = p.split('>'); return pairs.has(`${b}>${a}`); });
    expect(cycles).toEqual([]);
  });

  it('the import parser sees every kind of import', () => {
    expect(importsOf(`import a from './a';\nimport type { B } from "../b";\nconst c = await import('./c');\nconst d = require('./d');\nimport './e';`))
      .toEqual(['./a', '../b', './c', './d', './e']);
  });
});
