// The live traffic map: segments coloured by level of service, kept current over
// Server-Sent Events; a time slider over the last 24 hours; detector health for staff.
// Geometry comes once (GeoJSON with ETag); updates carry only each segment's state.

import { addBaseMap } from "/static/shell/basemap.js";

const TEHRAN_BOUNDS = [
  [35.56, 51.09],
  [35.83, 51.61],
];
const LOS_COLOURS = {
  A: "#1a9641",
  B: "#74c476",
  C: "#f2c94c",
  D: "#f39c12",
  E: "#e8590c",
  F: "#b3261e",
};
const NO_DATA = "#9aa5b1";
const HEALTH_COLOURS = { ok: "#1a9641", failed: "#b3261e", silent: "#6b7785" };

const root = document.getElementById("traffic-map");
const status = document.querySelector(".map-status");
const toggles = document.querySelector(".map-layers");
const slider = document.getElementById("traffic-time");
const sliderLabel = document.getElementById("traffic-time-label");
const strings = JSON.parse(document.getElementById("traffic-strings")?.textContent || "{}");
const lang = document.documentElement.lang || "fa";
const rtl = document.documentElement.dir === "rtl";

function digits(value) {
  const text = String(value);
  return lang === "fa" ? text.replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]) : text;
}

function fill(template, values) {
  return String(template || "").replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function say(message) {
  if (!status || !message) return;
  const line = document.createElement("span");
  line.textContent = message;
  status.append(line);
  status.classList.add("notice");
}

function popup(title, lines) {
  const box = document.createElement("div");
  box.className = "map-popup";
  const heading = document.createElement("strong");
  heading.textContent = title;
  box.append(heading);
  for (const text of lines.filter(Boolean)) {
    const line = document.createElement("span");
    line.textContent = text;
    box.append(line);
  }
  return box;
}

// Each direction of a two-way street is drawn on its own side (Tehran drives on the right),
// so a jam one way is not hidden under the other direction's colour.
const SIDE_OFFSET_M = 7;

function onItsSide(line) {
  const shifted = [];
  for (let i = 0; i < line.length; i++) {
    const [a, b] = [line[Math.max(i - 1, 0)], line[Math.min(i + 1, line.length - 1)]];
    const metresPerLon = 111320 * Math.cos((line[i][1] * Math.PI) / 180);
    const dx = (b[0] - a[0]) * metresPerLon;
    const dy = (b[1] - a[1]) * 110540;
    const length = Math.hypot(dx, dy) || 1;
    shifted.push([
      line[i][0] + ((dy / length) * SIDE_OFFSET_M) / metresPerLon,
      line[i][1] - ((dx / length) * SIDE_OFFSET_M) / 110540,
    ]);
  }
  return shifted;
}

async function getJson(url) {
  const response = await fetch(url, {
    headers: { Accept: "application/geo+json, application/json" },
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function styleFor(state) {
  if (!state || !state.los) {
    return { color: NO_DATA, weight: 2, opacity: 0.6, dashArray: "2 4" };
  }
  return {
    color: LOS_COLOURS[state.los] || NO_DATA,
    weight: state.estimated ? 3 : 4.5,
    opacity: state.estimated ? 0.7 : 0.95,
    dashArray: state.estimated ? "6 5" : null,
  };
}

function describe(feature, state) {
  const p = feature.properties || {};
  const title = p.name || p.id;
  if (!state || !state.los) return popup(title, [strings.noData]);
  return popup(title, [
    fill(strings.segment, { los: state.los }),
    fill(strings.speed, { speed: digits(Math.round(state.speed_kmh)) }),
    fill(strings.flow, { flow: digits(Math.round(state.flow_veh_h)) }),
    state.estimated ? strings.estimated : "",
  ]);
}

function start(L) {
  const map = L.map(root, { zoomControl: false, minZoom: 10, maxZoom: 18, zoomSnap: 0.25 });
  map.fitBounds(TEHRAN_BOUNDS);
  L.control
    .zoom({ position: rtl ? "topright" : "topleft", zoomInTitle: strings.zoomIn, zoomOutTitle: strings.zoomOut })
    .addTo(map);
  // Tiles, or the offline base layer (districts, roads, metro) under the live segments.
  addBaseMap(L, map, root);
  root.classList.add("map-ready");
  map.createPane("segments").style.zIndex = "420";
  map.createPane("detectors").style.zIndex = "440";
  const renderer = L.canvas({ pane: "segments", tolerance: 6 });

  const byId = new Map(); // segment id -> { layer, feature, state }
  let segmentsLayer = null;
  let detectorsLayer = null;
  let live = null;
  let liveStates = null;
  let reloading = null;
  let reloadedAt = 0;

  function apply(states) {
    let measured = 0;
    let estimated = 0;
    for (const [id, entry] of byId) {
      const compact = states[id];
      entry.state = compact
        ? { los: compact[0], speed_kmh: compact[1], flow_veh_h: compact[2], estimated: !!compact[3] }
        : null;
      entry.layer.setStyle(styleFor(entry.state));
      if (entry.state) entry.state.estimated ? estimated++ : measured++;
    }
    // What the map shows, for people reading the page's state (and its browser tests).
    root.dataset.measuredCount = String(measured);
    root.dataset.estimatedCount = String(estimated);
  }

  function startLive() {
    if (!window.EventSource || live) return;
    live = new EventSource(root.dataset.liveUrl);
    live.addEventListener("states", (event) => {
      const data = JSON.parse(event.data);
      liveStates = data.states;
      root.dataset.liveUpdates = String(Number(root.dataset.liveUpdates || 0) + 1);
      root.dataset.interval = data.interval_start || "";
      // A street the map has not drawn: the network grew (an import, the twin's network
      // loading after the page); draw it again, then colour it.
      const due = Date.now() - reloadedAt > 30_000;
      if (!reloading && due && Object.keys(liveStates).some((id) => !byId.has(id))) {
        reloadedAt = Date.now();
        reloading = loadSegments({ fit: false }).finally(() => {
          reloading = null;
          if (Number(slider?.value || 0) === 0) apply(liveStates);
        });
      }
      if (Number(slider?.value || 0) === 0) apply(liveStates);
    });
  }

  async function loadSegments({ fit }) {
    const data = await getJson(root.dataset.segmentsUrl);
    if (segmentsLayer) map.removeLayer(segmentsLayer);
    byId.clear();
    for (const feature of data.features) {
      if (feature.geometry?.type === "LineString") {
        feature.geometry.coordinates = onItsSide(feature.geometry.coordinates);
      }
    }
    segmentsLayer = L.geoJSON(data, {
      pane: "segments",
      renderer,
      style: (feature) => styleFor(feature.properties),
      onEachFeature: (feature, layer) => {
        const entry = { layer, feature, state: feature.properties.los ? feature.properties : null };
        byId.set(feature.id ?? feature.properties.id, entry);
        layer.bindPopup(() => describe(feature, entry.state));
      },
    }).addTo(map);
    root.dataset.segmentsCount = String(data.features.length);
    if (fit && data.features.length) map.fitBounds(segmentsLayer.getBounds(), { padding: [12, 12] });
  }

  loadSegments({ fit: true })
    .then(startLive)
    .catch(() => {
      root.dataset.segmentsCount = "0";
      say(fill(strings.unavailable, { layer: strings.live }));
    })
    .finally(() => {
      root.dataset.layersLoaded = "true";
    });

  async function loadDetectors() {
    if (detectorsLayer || !root.dataset.detectorsUrl) return detectorsLayer;
    const data = await getJson(root.dataset.detectorsUrl);
    detectorsLayer = L.geoJSON(data, {
      pane: "detectors",
      pointToLayer: (feature, latlng) =>
        L.circleMarker(latlng, {
          pane: "detectors",
          radius: 5,
          color: "#ffffff",
          weight: 1.5,
          fillColor: HEALTH_COLOURS[feature.properties.health] || NO_DATA,
          fillOpacity: 1,
        }),
      onEachFeature: (feature, layer) => {
        const p = feature.properties;
        const health =
          p.health === "failed"
            ? fill(strings.health_failed, { fault: p.fault || "" })
            : strings[`health_${p.health}`] || p.health;
        layer.bindPopup(popup(fill(strings.detector, { id: p.id }), [health]));
      },
    });
    root.dataset.detectorsCount = String(data.features.length);
    return detectorsLayer;
  }

  if (toggles) {
    toggles.hidden = false;
    toggles.addEventListener("change", async (event) => {
      const input = event.target;
      const name = input?.dataset?.layer;
      let layer = name === "segments" ? segmentsLayer : null;
      if (name === "detectors") {
        try {
          layer = await loadDetectors();
        } catch {
          say(fill(strings.unavailable, { layer: input.closest("label")?.textContent?.trim() }));
          input.checked = false;
          return;
        }
      }
      if (!layer) return;
      if (input.checked) layer.addTo(map);
      else map.removeLayer(layer);
    });
  }

  if (slider) {
    slider.addEventListener("change", async () => {
      const hours = Number(slider.value);
      if (hours === 0) {
        sliderLabel.textContent = strings.now;
        if (liveStates) apply(liveStates);
        return;
      }
      sliderLabel.textContent = fill(strings.hoursAgo, { hours: digits(-hours) });
      const at = new Date(Date.now() + hours * 3600 * 1000).toISOString();
      try {
        const data = await getJson(`${root.dataset.historyUrl}?at=${encodeURIComponent(at)}`);
        apply(data.states || {});
      } catch {
        say(fill(strings.unavailable, { layer: strings.live }));
      }
    });
    slider.addEventListener("input", () => {
      const hours = Number(slider.value);
      sliderLabel.textContent = hours === 0 ? strings.now : fill(strings.hoursAgo, { hours: digits(-hours) });
    });
  }
}

if (root) {
  if (window.L && typeof window.L.map === "function") {
    start(window.L);
  } else {
    root.classList.add("map-missing");
    root.dataset.layersLoaded = "true";
    say(strings.noMap);
  }
}
