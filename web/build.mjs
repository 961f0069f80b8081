// Builds the web client into dist/: index.html and assets/ with
// content-hashed names. Deterministic: the same sources and the same
// package versions give byte-identical files (no timestamps, no absolute
// paths, stable chunk names), which scripts/test.sh checks against the
// committed dist/. It fails when the initial JavaScript (the entry and
// the chunks it imports statically) passes its gzipped budget.
import * as esbuild from 'esbuild';
import { rmSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const BUDGET = 150 * 1024; // initial JS, gzipped (issue 12)

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { app: 'src/main.jsx' },
  bundle: true,
  splitting: true, // on-demand chunks (composer, calendar) come later
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
if (gz > BUDGET) {
  console.error('initial JavaScript is over its budget');
  process.exit(1);
}
