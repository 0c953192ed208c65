// The what-if map: draws demand and offices, sends each edit to /api/ and redraws the answer.
// Every text from data goes in through textContent (never innerHTML): names are user input.
"use strict";
(function () {
  const app = document.getElementById("app");
  if (!app) return;
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
  const projectId = app.dataset.project;
  const editable = app.dataset.mode === "edit";
  // demand on a canvas (thousands of cells); offices as SVG, each an element to click
  const map = L.map("map", { preferCanvas: true });
  const officeRenderer = L.svg();
  L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 18, attribution: "© OpenStreetMap contributors",
  }).addTo(map);
  const edits = { closed: [], opened: [], points: [] };
  let demandLayer = [], siteMarkers = {}, pointMarkers = [], data = null, lastEvaluation = null;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }
  function api(method, url, body) {
    const headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf };
    return fetch(url, { method, headers, body: body ? JSON.stringify(body) : undefined,
      credentials: "same-origin" }).then(async (r) => {
      const json = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(json.detail || r.statusText);
      return json;
    });
  }
  function colour(minutes) {
    if (minutes === null) return "#777";
    if (minutes <= 15) return "#1a9850";
    if (minutes <= 30) return "#91cf60";
    if (minutes <= 45) return "#fee08b";
    if (minutes <= 60) return "#fc8d59";
    return "#d73027";
  }
  // each office its own hue, so that catchments show as patches of one colour
  function officeColour(id) {
    if (!id) return "#777";
    let hash = 0;
    for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) % 360;
    return "hsl(" + hash + ", 70%, 45%)";
  }
  function recolour() {
    if (!lastEvaluation) return;
    const byOffice = document.getElementById("by-office");
    const catchments = byOffice && byOffice.checked;
    lastEvaluation.minutes.forEach((m, i) => {
      const c = catchments ? officeColour(lastEvaluation.office[i]) : colour(m);
      demandLayer[i].setStyle({ fillColor: c, color: c });
    });
  }
  function pct(x) { return x === null ? "–" : (100 * x).toFixed(1) + " %"; }
  function num(x, d) { return x === null ? "–" : Number(x).toLocaleString("sv-SE", { maximumFractionDigits: d || 0 }); }

  function showFigures(ev) {
    const box = document.getElementById("figures");
    box.replaceChildren();
    box.appendChild(el("p", "Räknat: " + ev.counted));
    const table = el("table", null, "figures");
    const head = el("tr");
    ["", "I dag", "Plan"].forEach((t) => head.appendChild(el("th", t)));
    table.appendChild(head);
    const rows = [["Inom 15 min", "share_within_15_min", pct], ["Inom 30 min", "share_within_30_min", pct],
      ["Inom 45 min", "share_within_45_min", pct], ["Inom 60 min", "share_within_60_min", pct],
      ["Medel, min", "mean_minutes", (x) => num(x, 1)], ["95:e percentil, min", "p95_minutes", (x) => num(x, 1)],
      ["Når inget kontor", "unreached", num]];
    rows.forEach(([label, key, fmt]) => {
      const tr = el("tr");
      tr.appendChild(el("td", label));
      tr.appendChild(el("td", fmt(ev.today[key])));
      const plan = el("td", fmt(ev.plan[key]));
      plan.dataset.key = key;
      tr.appendChild(plan);
      table.appendChild(tr);
    });
    box.appendChild(table);
    const change = el("p");
    change.id = "change";
    change.appendChild(el("span", num(ev.change.people_gaining) + " vinner", "gain"));
    change.appendChild(document.createTextNode(" · "));
    change.appendChild(el("span", num(ev.change.people_losing) + " förlorar", "loss"));
    box.appendChild(change);
    Object.entries(ev.also || {}).forEach(([column, m]) => {
      box.appendChild(el("p", column + ": inom 30 min " + pct(m.today.share_within_30_min) + " i dag, "
        + pct(m.plan.share_within_30_min) + " i planen; " + num(m.change.people_losing) + " förlorar", "also"));
    });
    const groups = el("table", null, "figures");
    const gh = el("tr");
    ["Kommun", "Inom 30 min i dag", "Plan", "Förlorar"].forEach((t) => gh.appendChild(el("th", t)));
    groups.appendChild(gh);
    ev.by_group.forEach((g) => {
      const tr = el("tr");
      [g.name, pct(g.today.share_within_30_min), pct(g.plan.share_within_30_min),
        num(g.change.people_losing)].forEach((t) => tr.appendChild(el("td", t)));
      groups.appendChild(tr);
    });
    box.appendChild(groups);
    lastEvaluation = ev;
    recolour();
    box.dataset.updated = String(Date.now());
  }

  function styleSite(site) {
    const closed = edits.closed.includes(site.id), opened = edits.opened.includes(site.id);
    const today = data.today.includes(site.id);
    const fill = closed ? "#000" : opened ? "#e63946" : today ? "#1d3557" : "#fff";
    siteMarkers[site.id].setStyle({ fillColor: fill, radius: today || opened ? 8 : 5 });
  }

  function evaluate() {
    if (!editable) return;
    const body = JSON.parse(JSON.stringify(edits));
    api("POST", "/api/projects/" + projectId + "/whatif", body)
      .then(showFigures).catch((e) => alertBox(e.message));
  }
  function alertBox(text) {
    const box = document.getElementById("figures");
    const p = el("p", text, "error");
    p.setAttribute("role", "alert");
    box.prepend(p);
  }

  function toggle(list, id) {
    const i = list.indexOf(id);
    if (i >= 0) list.splice(i, 1); else list.push(id);
  }

  function addPoint(latlng) {
    const point = { name: "Ny plats " + (edits.points.length + 1), lon: latlng.lng, lat: latlng.lat };
    edits.points.push(point);
    const marker = L.marker(latlng, { draggable: true }).addTo(map);
    marker.bindTooltip(el("span", point.name));
    marker.on("dragend", () => {
      const p = marker.getLatLng();
      point.lon = p.lng; point.lat = p.lat;
      evaluate();
    });
    marker.on("click", () => {
      edits.points.splice(edits.points.indexOf(point), 1);
      map.removeLayer(marker);
      evaluate();
    });
    pointMarkers.push(marker);
    evaluate();
  }

  function draw(d) {
    data = d;
    document.getElementById("model").textContent = "Restider: " + d.model;
    const bounds = [];
    d.demand.lon.forEach((lon, i) => {
      const m = L.circleMarker([d.demand.lat[i], lon], { radius: 3, weight: 1, fillOpacity: 0.7 }).addTo(map);
      demandLayer.push(m);
      bounds.push([d.demand.lat[i], lon]);
    });
    d.sites.forEach((site) => {
      const m = L.circleMarker([site.lat, site.lon], {
        color: "#1d3557", weight: 2, fillOpacity: 1, renderer: officeRenderer,
      }).addTo(map);
      m.bindTooltip(el("span", site.name));
      siteMarkers[site.id] = m;
      styleSite(site);
      if (editable) {
        m.on("click", (e) => {
          L.DomEvent.stopPropagation(e);
          toggle(d.today.includes(site.id) ? edits.closed : edits.opened, site.id);
          styleSite(site);
          evaluate();
        });
      }
    });
    if (!editable) {
      edits.points.forEach((p) => L.marker([p.lat, p.lon]).addTo(map).bindTooltip(el("span", p.name)));
    }
    if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] });
    if (editable) map.on("click", (e) => addPoint(e.latlng));
    showFigures(d.evaluation);
    const byOffice = document.getElementById("by-office");
    if (byOffice) byOffice.addEventListener("change", recolour);
  }

  function watchRun(li) {
    const id = li.dataset.run;
    const status = li.querySelector(".status");
    api("GET", "/api/runs/" + id).then((run) => {
      status.textContent = run.status + (run.status === "running" ? " " + run.step + " " + run.percent + " %" : "")
        + (run.error ? ": " + run.error : "");
      if (run.status === "done" && !li.querySelector("a")) {
        const link = el("a", "karta");
        link.href = "/api/runs/" + id + "/files/map.html";
        li.appendChild(document.createTextNode(" "));
        li.appendChild(link);
        const toml = el("a", "scenario.toml");
        toml.href = "/api/runs/" + id + "/scenario.toml";
        li.appendChild(document.createTextNode(" "));
        li.appendChild(toml);
      }
      const going = run.status === "queued" || run.status === "running";
      let cancel = li.querySelector("button.cancel");
      if (going && !cancel) {
        cancel = el("button", "Avbryt", "cancel");
        cancel.type = "button";
        cancel.addEventListener("click", () => api("POST", "/api/runs/" + id + "/cancel"));
        li.appendChild(cancel);
      } else if (!going && cancel) {
        cancel.remove();
      }
      if (going) setTimeout(() => watchRun(li), 1000);
    }).catch(() => setTimeout(() => watchRun(li), 3000));
  }

  function wireForms() {
    document.getElementById("reset").addEventListener("click", () => {
      edits.closed = []; edits.opened = []; edits.points = [];
      pointMarkers.forEach((m) => map.removeLayer(m));
      pointMarkers = [];
      data.sites.forEach(styleSite);
      evaluate();
    });
    document.getElementById("save-plan").addEventListener("submit", (e) => {
      e.preventDefault();
      const name = new FormData(e.target).get("name");
      api("POST", "/api/projects/" + projectId + "/plans", { name, edits })
        .then(() => window.location.reload()).catch((err) => alertBox(err.message));
    });
    document.querySelectorAll("#plans li").forEach((li) => {
      const id = li.dataset.plan;
      const publish = li.querySelector(".publish"), unpublish = li.querySelector(".unpublish");
      if (publish) publish.addEventListener("click", () =>
        api("POST", "/api/plans/" + id + "/publish").then(() => window.location.reload()));
      if (unpublish) unpublish.addEventListener("click", () =>
        api("DELETE", "/api/plans/" + id + "/publish").then(() => window.location.reload()));
    });
    document.getElementById("run").addEventListener("submit", (e) => {
      e.preventDefault();
      const form = Object.fromEntries(new FormData(e.target).entries());
      api("POST", "/api/projects/" + projectId + "/runs", form).then((run) => {
        const li = el("li");
        li.dataset.run = run.id;
        li.appendChild(document.createTextNode("#" + run.id + " " + run.problem.kind + ": "));
        li.appendChild(el("span", run.status, "status"));
        document.getElementById("runs").prepend(li);
        watchRun(li);
      }).catch((err) => alertBox(err.message));
    });
    document.querySelectorAll("#runs li").forEach(watchRun);
  }

  const source = editable ? "/api/projects/" + projectId + "/map" : "/p/" + app.dataset.public + "/data";
  api("GET", source).then((d) => {
    if (d.edits) Object.assign(edits, d.edits);
    draw(d);
    if (editable) wireForms();
  }).catch((e) => alertBox(e.message));
})();
