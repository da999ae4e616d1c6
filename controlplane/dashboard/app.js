// The dashboard's live view: polls /dashboard/api/state every second and redraws. Every value
// reaches the page through textContent (never innerHTML), so nothing in the state is markup.
"use strict";
(function () {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  const $ = (id) => document.getElementById(id);
  let state = null;

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function badge(ok, text, warn) {
    return el("span", text, "status " + (ok ? "ok" : warn ? "warn" : "bad"));
  }
  function table(id, head, rows) {
    const t = $(id);
    t.replaceChildren();
    const tr = el("tr");
    head.forEach((h) => tr.appendChild(el("th", h)));
    t.appendChild(el("thead")).appendChild(tr);
    const body = el("tbody");
    rows.forEach((r) => body.appendChild(r));
    t.appendChild(body);
    if (rows.length === 0) {
      const empty = el("tr");
      const td = el("td", "none", "muted");
      td.colSpan = head.length;
      empty.appendChild(td);
      body.appendChild(empty);
    }
  }
  function row(cells, cls) {
    const tr = el("tr", null, cls);
    cells.forEach((c) => {
      if (c instanceof Node) {
        const td = el("td");
        td.appendChild(c);
        tr.appendChild(td);
      } else if (c && typeof c === "object") {
        tr.appendChild(el("td", c.text, c.cls));
      } else {
        tr.appendChild(el("td", c));
      }
    });
    return tr;
  }
  const num = (v) => ({ text: v, cls: "num" });
  const rate = (n, ms) => (ms > 0 ? (Number(n) * 1000) / ms : 0);
  const ms = (s) => (s > 0 ? (s * 1000).toFixed(1) + " ms" : "–");
  function ago(unixMs) {
    if (!unixMs || unixMs === "0") return "–";
    const s = Math.round((Date.now() - Number(unixMs)) / 1000);
    return span(s) + " ago";
  }
  function span(s) {
    const a = Math.abs(s), sign = s < 0 ? "-" : "";
    if (a < 120) return sign + a + "s";
    if (a < 7200) return sign + Math.round(a / 60) + "m";
    if (a < 172800) return sign + Math.round(a / 3600) + "h";
    return sign + Math.round(a / 86400) + "d";
  }
  function matches(...fields) {
    const q = $("search").value.trim().toLowerCase();
    return !q || fields.some((f) => String(f || "").toLowerCase().includes(q));
  }

  function render() {
    if (!state) return;
    const nodes = (state.nodes && state.nodes.nodes) || [];
    const current = state.snapshot_version;
    $("replica").textContent = "replica " + (state.replica_id || "–");
    $("version").textContent = "snapshot " + (current || "–");

    // Per app and per origin, summed over the nodes' latest reports (connected nodes only).
    const apps = {}, origins = {}, certs = {};
    nodes.forEach((n) => {
      const r = n.report;
      if (!n.connected || !r) return;
      (r.apps || []).forEach((a) => {
        const s = (apps[a.app] = apps[a.app] || { rps: 0, err: 0, p99: 0, total: 0 });
        s.rps += rate(a.requests, Number(r.interval_ms));
        s.err += rate(a.errors, Number(r.interval_ms));
        s.p99 = Math.max(s.p99, a.p99_seconds);
        s.total += Number(a.requests_total);
      });
      (r.origins || []).forEach((o) => {
        const s = (origins[o.origin] = origins[o.origin] || { down: [], failures: 0, ejections: 0 });
        if (!o.healthy) s.down.push(n.node_id);
        s.failures += Number(o.failures_total);
        s.ejections += Number(o.ejections_total);
      });
      (r.certificates || []).forEach((c) => (certs[c.id] = c));
    });

    table("nodes", ["Node", "State", "Serving", "Lag", "Last NACK", "Report", "Conns", "RPS", "5xx/s", "p99", "Origins down"],
      nodes.map((n) => {
        const r = n.report || {};
        const all = (r.apps || []).find((a) => a.app === "_all");
        const behind = n.connected && r.version_served && r.version_served !== current;
        const down = (r.origins || []).filter((o) => !o.healthy).length;
        const nack = n.last_nack_version ? n.last_nack_version + ": " + n.last_nack_message : "–";
        return row([n.node_id, badge(n.connected, n.connected ? "up" : "gone"), r.version_served || "–",
          n.pending_version ? badge(false, "pending " + n.pending_version, true) : badge(!behind, behind ? "behind" : "current"),
          { text: nack, cls: "wrap" }, ago(n.report_received_unix_ms), num(r.connections_open || 0),
          num(all ? rate(all.requests, Number(r.interval_ms)).toFixed(1) : "–"),
          num(all ? rate(all.errors, Number(r.interval_ms)).toFixed(1) : "–"), num(all ? ms(all.p99_seconds) : "–"),
          down ? badge(false, down + " down") : badge(true, "none")], n.last_nack_version ? "bad" : "");
      }));

    const list = ((state.apps && state.apps.apps) || []).filter((a) => matches(a.id, (a.frontends || []).join(" "), a.backend, a.source));
    $("app-count").textContent = "(" + list.length + ")";
    table("apps", ["App", "Routes", "Backend", "Source", "RPS", "5xx/s", "p99", "Origins"],
      list.map((a) => {
        const t = apps[a.id] || { rps: 0, err: 0, p99: 0 };
        const mine = Object.keys(origins).filter((o) => (a.backend || "").includes(o));
        const failing = mine.filter((o) => origins[o].down.length > 0);
        const tr = row([a.id, { text: (a.frontends || []).join("\n"), cls: "wrap" }, { text: a.backend, cls: "wrap" }, a.source,
          num(t.rps.toFixed(1)), num(t.err.toFixed(1)), num(ms(t.p99)),
          mine.length === 0 ? el("span", "–", "muted") : badge(failing.length === 0, failing.length ? failing.length + " failing" : "healthy")],
          failing.length ? "bad" : "");
        tr.dataset.app = a.id;
        return tr;
      }));

    table("origins", ["Origin", "Health", "Failures", "Ejections"],
      Object.keys(origins).sort().filter((o) => matches(o)).map((o) => {
        const s = origins[o];
        const tr = row([o, badge(s.down.length === 0, s.down.length ? "failing on " + s.down.join(", ") : "healthy"),
          num(s.failures), num(s.ejections)], s.down.length ? "bad" : "");
        tr.dataset.origin = o;
        return tr;
      }));

    const now = Date.now() / 1000;
    table("certs", ["Certificate", "Domains", "Expires", "Status"],
      Object.values(certs).sort((a, b) => Number(a.not_after_unix) - Number(b.not_after_unix)).map((c) => {
        const left = Number(c.not_after_unix) - now;
        const ok = !c.error && left > 14 * 86400;
        return row([c.id, { text: (c.domains || []).join(", "), cls: "wrap" }, Number(c.not_after_unix) ? span(Math.round(left)) : "–",
          badge(ok, c.error ? c.error : left <= 0 ? "expired" : ok ? "valid" : "renew soon", !c.error && left > 0)]);
      }));
    const acme = state.acme || {};
    $("acme-state").textContent = acme.enabled
      ? "issuer " + (acme.issuer_holder || "–") + " · " + acme.directory_url + " · issued " + acme.certificates_issued + ", failed orders " + acme.orders_failed
      : "ACME is off on this control plane";
    table("acme", ["Name", "State", "Expires", "Detail"], (acme.names || []).filter((n) => matches(n.name)).map((n) =>
      row([n.name, badge(n.state === "issued", n.state, n.state !== "failing"),
        Number(n.not_after_unix) ? span(Math.round(Number(n.not_after_unix) - now)) : "–", { text: n.detail, cls: "wrap" }])));

    const rejected = (state.apps && state.apps.rejected) || [];
    table("rejected", ["Source", "Item", "Reason"], rejected.filter((r) => matches(r.source, r.id, r.reason)).map((r) =>
      row([r.source, r.id, { text: r.reason, cls: "wrap" }], "bad")));

    const docker = state.docker || {};
    $("docker-state").replaceChildren(badge(docker.enabled, docker.enabled ? "on" : "off", !docker.enabled),
      el("span", docker.enabled ? " " + docker.url : " no Docker socket configured", "muted"));
    const fromDocker = ((state.apps && state.apps.apps) || []).filter((a) => (a.source || "").startsWith("docker"));
    table("docker", ["Routed from labels", "Routes"], fromDocker.map((a) => row([a.id, { text: (a.frontends || []).join("\n"), cls: "wrap" }])));

    table("events", ["Time", "Stream", "Version", "Event", "Subject"], (state.events || []).filter((e) => matches(e.type, e.subject)).map((e) =>
      row([e.timestamp, e.stream, num(e.version), e.type, e.subject || "–"])));
  }

  async function poll() {
    try {
      const res = await fetch("/dashboard/api/state", { headers: token ? { Authorization: "Bearer " + token } : {}, cache: "no-store" });
      if (!res.ok) throw new Error(res.status + " " + (await res.text()));
      state = await res.json();
      $("live").textContent = "live";
      $("live").classList.remove("stale");
      render();
    } catch (e) {
      $("live").textContent = "disconnected: " + e.message;
      $("live").classList.add("stale");
    }
    setTimeout(poll, 1000);
  }
  document.addEventListener("DOMContentLoaded", () => {
    $("search").addEventListener("input", render);
    poll();
  });
})();
