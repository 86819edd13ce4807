/*
 * serving.mjs - the built bundle as the bridge serves it: the hashed
 * names esbuild writes are the ones the server caches for a year,
 * index.html is revalidated and carries the CSP, gzip siblings are sent
 * to clients that accept them, HEAD answers the same headers as GET
 * (each once), and the whole transfer is under the 150 KB budget.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

export const name = "serving";
export const about = "hashed files cached a year, index revalidated with CSP, gzip, HEAD = GET, < 150 KB";

export async function run(env, c) {
  const base = env.st.bridge.url;
  const files = readdirSync(join(env.build, "dashboard")).filter((f) => !f.endsWith(".gz"));
  const assets = files.filter((f) => /^(app|early)-[A-Z0-9]{8,}\.(js|css)$/.test(f));
  c.ok(files.includes("index.html") && assets.length === 3, "the build wrote index.html, one hashed js and css, and the early script", files.join(" "));
  let total = 0;
  for (const f of ["index.html", ...assets]) {
    const url = `${base}/${f === "index.html" ? "" : f}`;
    const get = await fetch(url, { headers: { "Accept-Encoding": "gzip" } });
    const body = await get.arrayBuffer();
    const head = await fetch(url, { method: "HEAD", headers: { "Accept-Encoding": "gzip" } });
    total += +get.headers.get("content-length");
    const h = (r) => JSON.stringify([...r.headers.entries()].filter(([k]) => k !== "date").sort());
    const cache = get.headers.get("cache-control");
    const want = f === "index.html" ? "no-cache" : "public, max-age=31536000, immutable";
    c.ok(get.status === 200 && cache === want, `${f}: Cache-Control ${want}`, cache);
    /* (fetch inflates the body; the length on the wire is the .gz's) */
    const gz = statSync(join(env.build, "dashboard", f + ".gz")).size;
    c.ok(get.headers.get("content-encoding") === "gzip" && +get.headers.get("content-length") === gz && body.byteLength > gz,
      `${f}: its .gz sibling is sent`, `${gz} bytes for ${body.byteLength}`);
    c.ok(h(get) === h(head) && !/,/.test(get.headers.get("x-frame-options") || ","), `${f}: HEAD answers the headers of GET, each once`, h(head) === h(get) ? undefined : h(head));
    if (f === "index.html") {
      const csp = get.headers.get("content-security-policy") || "";
      c.ok(/default-src 'self'/.test(csp) && /style-src 'self'/.test(csp) && !/unsafe/.test(csp), "index.html: the CSP, without unsafe-inline", csp);
    }
  }
  c.ok(total < 150 * 1024, "the bundle transfers under 150 KB gzipped", `${(total / 1024).toFixed(1)} KB`);
  env.metrics.bundle_gzip_bytes = total;
}
