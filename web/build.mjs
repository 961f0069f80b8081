// Builds the web client into dist/: index.html and assets/ with
// content-hashed names. Deterministic: the same sources and the same
// package versions give byte-identical files (no timestamps, no absolute
// paths, stable chunk names), which scripts/test.sh checks against the
// committed dist/. It fails when the initial JavaScript (the entry and
// the chunks it imports statically) passes its gzipped budget.
import * as esbuild from 'esbuild';
import { rmSync, mkdirSync, writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const BUDGET = 150 * 1024; // initial JS, gzipped (issue 12)

// The translation catalogue is complete: German has every English key
// and no other, and every key the sources name (t('…'), and the
// shortcut labels 'sc…') is in it.
{
  // The catalogue is i18n.js plus the sections' own entries (gw/strings.js,
  // sharing/strings.js, settings/strings.js).
  const catalogues = ['i18n.js', 'gw/strings.js', 'sharing/strings.js', 'settings/strings.js', 'prefs/strings.js', 'admin/strings.js', 'contacts/strings.js', 'xfer/strings.js', 'mail2/strings.js'].map((f) => readFileSync(join(root, 'src', f), 'utf8'));
  const keysOf = (lang) => {
    const keys = new Set();
    for (const src of catalogues) {
      const block = src.slice(src.indexOf(`  ${lang}: {`));
      for (const m of block.slice(0, block.indexOf('\n  },')).matchAll(/^\s+'?([\w.-]+)'?:/gm)) if (m[1] !== lang) keys.add(m[1]);
    }
    return keys;
  };
  const en = keysOf('en');
  const de = keysOf('de');
  const used = new Set();
  const sources = (dir) => readdirSync(join(root, 'src', dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.jsx?$/.test(e.name) ? [join(dir, e.name)] : []).sort();
  for (const f of sources('.').filter((f) => !/(^|\/)(i18n|strings)\.js$/.test(f))) {
    const code = readFileSync(join(root, 'src', f), 'utf8');
    for (const m of code.matchAll(/\bt\('([\w.-]+)'\s*[,)]/g)) used.add(m[1]);
    for (const m of code.matchAll(/'(sc[A-Z]\w+)'/g)) used.add(m[1]);
  }
  const problems = [
    ...[...en].filter((k) => !de.has(k)).map((k) => `German lacks ${k}`),
    ...[...de].filter((k) => !en.has(k)).map((k) => `German has ${k}, English does not`),
    ...[...used].filter((k) => !en.has(k)).map((k) => `the catalogue lacks ${k}`),
  ];
  if (problems.length) {
    console.error(problems.join('\n'));
    process.exit(1);
  }
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { app: 'src/main.jsx' },
  bundle: true,
  splitting: true, // on-demand chunks: calendar, contacts
  format: 'esm',
  minify: true,
  target: ['chrome111', 'firefox113', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir: 'dist/assets',
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  legalComments: 'eof',
  charset: 'utf8',
  metafile: true,
  logLevel: 'warning',
});

const outputs = result.metafile.outputs;
const entry = Object.keys(outputs).find((k) => outputs[k].entryPoint === 'src/main.jsx');
const css = outputs[entry].cssBundle;
const url = (p) => '/' + relative('dist', p).split('\\').join('/');

// The initial JavaScript: the entry and its static imports.
const initial = new Set();
const walk = (p) => {
  if (initial.has(p)) return;
  initial.add(p);
  for (const i of outputs[p].imports) if (i.kind === 'import-statement' && outputs[i.path]) walk(i.path);
};
walk(entry);
let gz = 0;
for (const p of initial) gz += gzipSync(readFileSync(join(root, p)), { level: 9 }).length;

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>Roost</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${url(css)}">
<script type="module" src="${url(entry)}"></script>
</head>
<body>
<div id="app"></div>
<noscript>Roost's web client needs JavaScript.</noscript>
</body>
</html>
`;
writeFileSync(join(dist, 'index.html'), html);
console.log(`initial JS ${(gz / 1024).toFixed(1)} KB gzipped (budget ${BUDGET / 1024} KB): ${[...initial].map((p) => url(p)).join(' ')}`);
// The chunks loaded on demand (calendar, contacts), for docs/web.md's budgets.
const lazy = Object.keys(outputs).filter((p) => p.endsWith('.js') && !initial.has(p));
console.log(`on demand: ${lazy.map((p) => `${url(p)} ${(gzipSync(readFileSync(join(root, p)), { level: 9 }).length / 1024).toFixed(1)} KB (${Object.keys(outputs[p].inputs).filter((i) => i.startsWith('src/')).join(', ') || 'shared'})`).join('; ')}`);
if (gz > BUDGET) {
  console.error('initial JavaScript is over its budget');
  process.exit(1);
}
