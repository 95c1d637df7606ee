// The command dashboard: live traffic under the incidents (by severity, tentative ones
// ringed), the units (by status) and the cameras near the chosen incident. Changes arrive
// over Server-Sent Events; the page then reads itself again and swaps the queue, the
// incident panel and the KPIs, leaving the report form as the operator is typing it.

import { addBaseMap } from "/static/shell/basemap.js";

const TEHRAN_BOUNDS = [
  [35.56, 51.09],
  [35.83, 51.61],
];
const LOS_COLOURS = { A: "#1a9641", B: "#74c476", C: "#f2c94c", D: "#f39c12", E: "#e8590c", F: "#b3261e" };
// One glyph per type of incident, drawn in the marker (the colour says the severity).
const svg = (body) => `<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false">${body}</svg>`;
const KIND_GLYPHS = {
  crash: svg('<path d="M7 7l10 10M17 7L7 17" stroke="#fff" stroke-width="3" stroke-linecap="round"/>'),
  breakdown: svg('<circle cx="12" cy="12" r="4" fill="none" stroke="#fff" stroke-width="2.5"/><path d="M12 4v3M12 17v3M4 12h3M17 12h3" stroke="#fff" stroke-width="2.5" stroke-linecap="round"/>'),
  roadwork: svg('<path d="M12 5l6 13H6z" fill="#fff"/>'),
  hazard: svg('<path d="M12 6v7" stroke="#fff" stroke-width="3" stroke-linecap="round"/><circle cx="12" cy="17.5" r="1.7" fill="#fff"/>'),
  flooding: svg('<path d="M5 10c2-2 4 2 7 0s5 2 7 0M5 15c2-2 4 2 7 0s5 2 7 0" fill="none" stroke="#fff" stroke-width="2.3" stroke-linecap="round"/>'),
  other: svg('<circle cx="12" cy="12" r="3.5" fill="#fff"/>'),
};
const UNIT_COLOURS = { available: "#0b7a3e", out_of_service: "#6b7785" };
const UNIT_BUSY = "#0b4f6c";
const CAMERA_COLOUR = "#1c64d1";
const FALLBACK_REFRESH_MS = 20_000;
const SWAPPED = ["kpis", "queue", "panel"];

const command = document.getElementById("command");
const root = document.getElementById("command-map");
const liveState = document.getElementById("live-state");
const status = document.querySelector(".map-status");
const strings = JSON.parse(document.getElementById("dashboard-strings")?.textContent || "{}");
const rtl = document.documentElement.dir === "rtl";

function readData(doc) {
  return JSON.parse(doc.getElementById("dashboard-data")?.textContent || "{}");
}

function say(message) {
  if (status) status.textContent = message || "";
}

function playCameras() {
  // HLS plays in a <video> only where the browser does it natively; elsewhere the link stays.
  for (const video of document.querySelectorAll("video.camera-video[data-src]")) {
    if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = video.dataset.src;
      video.hidden = false;
    }
  }
}

function drawTraffic(L, map) {
  const byId = new Map();
  const renderer = L.canvas({ pane: "traffic", tolerance: 4 });
  const style = (los) => ({ color: LOS_COLOURS[los] || "#9aa5b1", weight: los ? 3.5 : 2, opacity: los ? 0.85 : 0.5 });
  fetch(root.dataset.segmentsUrl, { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .then((data) => {
      if (!data) return;
      L.geoJSON(data, {
        pane: "traffic",
        renderer,
        interactive: false,
        style: (feature) => style(feature.properties.los),
        onEachFeature: (feature, layer) => byId.set(feature.id ?? feature.properties.id, layer),
      }).addTo(map);
      root.dataset.segmentsCount = String(data.features.length);
      if (!window.EventSource) return;
      const live = new EventSource(root.dataset.liveUrl);
      live.addEventListener("states", (event) => {
        const states = JSON.parse(event.data).states || {};
        for (const [id, layer] of byId) layer.setStyle(style(states[id]?.[0]));
      });
    })
    .catch(() => {});
}

function start(L) {
  const map = L.map(root, { zoomControl: false, minZoom: 10, maxZoom: 18, zoomSnap: 0.25 });
  map.fitBounds(TEHRAN_BOUNDS);
  L.control.zoom({ position: rtl ? "topright" : "topleft", zoomInTitle: strings.zoomIn, zoomOutTitle: strings.zoomOut }).addTo(map);
  addBaseMap(L, map, root);
  map.createPane("traffic").style.zIndex = "410";
  map.createPane("things").style.zIndex = "450";
  drawTraffic(L, map);
  const things = L.layerGroup().addTo(map);
  let picked = null;
  let centredOn = null;

  function draw(data) {
    things.clearLayers();
    for (const c of data.cameras || []) {
      L.circleMarker([c.lat, c.lon], { pane: "things", radius: 6, color: "#fff", weight: 2, fillColor: CAMERA_COLOUR, fillOpacity: 1 })
        .bindTooltip(c.name)
        .addTo(things);
    }
    for (const u of data.units || []) {
      const colour = UNIT_COLOURS[u.status] || UNIT_BUSY;
      L.circleMarker([u.lat, u.lon], { pane: "things", radius: 7, color: "#fff", weight: 2, fillColor: colour, fillOpacity: u.stale ? 0.4 : 1, dashArray: u.stale ? "2 3" : null })
        .bindTooltip(u.label)
        .addTo(things);
    }
    for (const i of data.incidents || []) {
      const chosen = data.selected && data.selected.id === i.id;
      const classes = ["incident-icon", `kind-${i.kind}`, `severity-${i.severity}`, `status-${i.status}`];
      if (chosen) classes.push("is-selected");
      const size = chosen ? 34 : 26;
      const marker = L.marker([i.lat, i.lon], {
        pane: "things",
        title: i.label,
        alt: i.label,
        icon: L.divIcon({ className: classes.join(" "), html: KIND_GLYPHS[i.kind] || KIND_GLYPHS.other, iconSize: [size, size] }),
      });
      marker.on("click", () => {
        window.location.search = `?incident=${encodeURIComponent(i.id)}`;
      });
      marker.addTo(things);
    }
    root.dataset.incidentsCount = String((data.incidents || []).length);
    root.dataset.unitsCount = String((data.units || []).length);
    if (data.selected && centredOn !== data.selected.id) {
      centredOn = data.selected.id;
      map.setView([data.selected.lat, data.selected.lon], Math.max(map.getZoom(), 14));
    }
  }

  map.on("click", (event) => {
    const lon = document.getElementById("report-lon");
    const lat = document.getElementById("report-lat");
    if (!lon || !lat) return;
    lon.value = event.latlng.lng.toFixed(6);
    lat.value = event.latlng.lat.toFixed(6);
    const street = document.getElementById("report-street");
    if (street) street.value = "";
    const hint = document.getElementById("place-hint");
    if (hint) hint.textContent = strings.picked;
    if (picked) picked.remove();
    picked = L.marker(event.latlng, { keyboard: false }).addTo(map);
  });

  draw(readData(document));
  root.classList.add("map-ready");
  root.dataset.layersLoaded = "true";
  return draw;
}

let draw = () => {};
let refreshing = null;
let again = false;

async function refresh() {
  if (refreshing) {
    again = true;
    return;
  }
  refreshing = (async () => {
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of SWAPPED) {
        const fresh = doc.getElementById(id);
        const old = document.getElementById(id);
        if (fresh && old) old.replaceWith(fresh);
      }
      draw(readData(doc));
      playCameras();
      command.dataset.refreshes = String(Number(command.dataset.refreshes || 0) + 1);
    } catch {
      // The next event or the fallback timer tries again.
    }
  })();
  await refreshing;
  refreshing = null;
  if (again) {
    again = false;
    refresh();
  }
}

function listen() {
  if (!window.EventSource || !command.dataset.eventsUrl) return;
  const events = new EventSource(command.dataset.eventsUrl);
  const live = () => {
    liveState.textContent = strings.live;
    liveState.dataset.state = "on";
  };
  events.addEventListener("open", live);
  events.addEventListener("error", () => {
    liveState.textContent = strings.offline;
    liveState.dataset.state = "off";
  });
  for (const kind of ["incident", "unit"]) {
    events.addEventListener(kind, () => {
      command.dataset.events = String(Number(command.dataset.events || 0) + 1);
      refresh();
    });
  }
}

if (root) {
  if (window.L && typeof window.L.map === "function") {
    draw = start(window.L);
  } else {
    root.classList.add("map-missing");
    root.dataset.layersLoaded = "true";
    say(strings.noMap);
  }
}
if (command) {
  playCameras();
  listen();
  setInterval(refresh, FALLBACK_REFRESH_MS);
}
