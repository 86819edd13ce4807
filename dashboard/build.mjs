#!/usr/bin/env node
/*
 * build.mjs - bundles the dashboard for `lockbridge run` to serve.
 *
 *   node dashboard/build.mjs [--out DIR] [--sourcemap] [--max-kb N]
 *
 * LB_NOMIN=1 leaves the bundle unminified, so that a CPU profile of the
 * page (chromium's DevTools protocol) names the functions.
 *
 * Writes into DIR (default build/dashboard at the top of the repository,
 * where `lockbridge run` looks next to its binary): index.html,
 * app-HASH.js and app-HASH.css, early-HASH.js (src/early.js, a classic
 * script index.html runs before the bundle; esbuild's content hash, which the server
 * caches for a year), and a .gz sibling of each made with Node's zlib
 * (the server sends it to clients that accept gzip).  Files of earlier
 * builds in DIR are removed; nothing else there is touched.  Fails when
 * the gzipped total is over the budget (150 KB, the limit).
 */
import * as esbuild from "esbuild";
import { readFileSync, writeFileSync, mkdirSync, readdirSync, unlinkSync } from "node:fs";
import { gzipSync, constants as zc } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const out = resolve(opt("--out", join(here, "..", "build", "dashboard")));
const sourcemap = args.includes("--sourcemap");
const maxKb = +opt("--max-kb", 150);

mkdirSync(out, { recursive: true });
/* What an earlier build left: our names only. */
const ours = /^(index\.html|(app|early)-[A-Z0-9]+\.(js|css)(\.map)?)(\.gz)?$/;
for (const f of readdirSync(out)) if (ours.test(f)) unlinkSync(join(out, f));

const common = {
  bundle: true,
  minify: !process.env.LB_NOMIN,
  target: ["chrome100", "firefox102", "safari15"],
  entryNames: "[name]-[hash]",
  outdir: out,
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
};
const result = await esbuild.build({
  ...common,
  entryPoints: { app: join(here, "src", "main.js") },
  format: "esm",
  sourcemap: sourcemap ? "linked" : false,
});
/* A classic script (not a module, which would wait for the parser):
 * index.html runs it before the bundle has arrived. */
const earlyResult = await esbuild.build({
  ...common,
  entryPoints: { early: join(here, "src", "early.js") },
  format: "iife",
});
const early = resolve(Object.keys(earlyResult.metafile.outputs).find((p) => p.endsWith(".js")));

const outputs = Object.keys(result.metafile.outputs).map((p) => resolve(p));
const js = outputs.find((p) => p.endsWith(".js"));
const css = outputs.find((p) => p.endsWith(".css"));
if (!js || !css) {
  console.error("build: esbuild produced no app js/css");
  process.exit(1);
}
const base = (p) => p.slice(p.lastIndexOf("/") + 1);
const html = readFileSync(join(here, "src", "index.html"), "utf8")
  .replace("%JS%", "./" + base(js))
  .replace("%CSS%", "./" + base(css))
  .replace("%EARLY%", "./" + base(early));
writeFileSync(join(out, "index.html"), html);

let total = 0, totalRaw = 0;
const lines = [];
for (const f of readdirSync(out).filter((f) => ours.test(f) && !f.endsWith(".gz") && !f.endsWith(".map")).sort()) {
  const raw = readFileSync(join(out, f));
  const gz = gzipSync(raw, { level: zc.Z_BEST_COMPRESSION });
  writeFileSync(join(out, f + ".gz"), gz);
  total += gz.length;
  totalRaw += raw.length;
  lines.push(`  ${f.padEnd(24)} ${(raw.length / 1024).toFixed(1).padStart(7)} KB  gzip ${(gz.length / 1024).toFixed(1).padStart(6)} KB`);
}
console.log(`dashboard built in ${out}\n${lines.join("\n")}\n  total ${(totalRaw / 1024).toFixed(1)} KB, gzip ${(total / 1024).toFixed(1)} KB (budget ${maxKb} KB)`);
if (total > maxKb * 1024) {
  console.error(`build: the dashboard is ${(total / 1024).toFixed(1)} KB gzipped, over the ${maxKb} KB budget`);
  process.exit(1);
}
