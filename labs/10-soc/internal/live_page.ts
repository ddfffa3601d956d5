/**
 * The alert sink's web view: one self-contained HTML page (no build step, no external
 * assets) that polls `/alerts.json` every two seconds.
 *
 * @module
 */

/** The page served at `/`. */
export const LIVE_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SOC alerts</title>
<style>
 body{font:14px system-ui,sans-serif;margin:1.5em;background:#111;color:#ddd}
 table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .8em;border-bottom:1px solid #333;text-align:left}
 .critical{color:#ff5c5c}.high{color:#ffa64d}.medium{color:#e6d84d}.low{color:#8fd18f}
 #state{color:#888}
</style></head><body>
<h1>SOC alerts <span id="total"></span></h1><p id="state">connecting…</p>
<h2>By rule and severity</h2><table id="summary"><thead><tr><th>rule</th><th>severity</th><th>alerts</th></tr></thead><tbody></tbody></table>
<h2>Latest</h2><table id="latest"><thead><tr><th>stored</th><th>severity</th><th>rule</th><th>host</th><th>reason</th><th>channel</th></tr></thead><tbody></tbody></table>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;"}[c]));
async function refresh() {
  try {
    const r = await fetch("/alerts.json", { cache: "no-store" });
    const d = await r.json();
    document.getElementById("total").textContent = "(" + d.count + ")";
    document.getElementById("state").textContent = "updated " + new Date().toLocaleTimeString();
    document.querySelector("#summary tbody").innerHTML = d.summary.map((s) =>
      "<tr><td>" + esc(s.rule) + "</td><td class=" + esc(s.severity) + ">" + esc(s.severity) + "</td><td>" + s.n + "</td></tr>").join("");
    document.querySelector("#latest tbody").innerHTML = d.latest.map((a) =>
      "<tr><td>" + esc(a.stored_at) + "</td><td class=" + esc(a.severity) + ">" + esc(a.severity) + "</td><td>" + esc(a.rule) +
      "</td><td>" + esc(a.host) + "</td><td>" + esc(a.reason) + "</td><td>" + esc(a.channel) + "</td></tr>").join("");
  } catch (e) {
    document.getElementById("state").textContent = "sink unreachable, retrying…";
  }
}
refresh(); setInterval(refresh, 2000);
</script></body></html>
`;
