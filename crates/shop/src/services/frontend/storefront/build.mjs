// Builds dist/storefront.js from src/main.js: one ES module, minified, for es2020 browsers.
// The output depends only on the sources and the locked packages (no timestamps, no source
// map, no absolute paths), so scripts/check-storefront.sh can rebuild it and compare.
//
//   node build.mjs

import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));

await build({
  absWorkingDir: here,
  entryPoints: [join(here, 'src/main.js')],
  outfile: join(here, 'dist/storefront.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: false,
  legalComments: 'eof',
  charset: 'utf8',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});
