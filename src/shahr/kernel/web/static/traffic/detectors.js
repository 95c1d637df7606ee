// Detector health for operators: every detector and camera on the map, coloured by health
// (working, failed, silent), from the staff API's GeoJSON; refreshed every minute.

const TEHRAN_BOUNDS = [
  [35.56, 51.09],
  [35.83, 51.61],
];
const HEALTH_COLOURS = { ok: "#1a9641", failed: "#b3261e", silent: "#6b7785" };
const REFRESH_MS = 60_000;

const root = document.getElementById("detector-map");
const status = document.querySelector(".map-status");
const strings = JSON.parse(document.getElementById("detector-strings")?.textContent || "{}");
const lang = document.documentElement.lang || "fa";
const rtl = document.documentElement.dir === "rtl";

function fill(template, values) {
  return String(template || "").replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function when(iso) {
  if (!iso) return "";
  const locale = lang === "fa" ? "fa-IR-u-ca-persian" : "en-GB";
  return new Date(iso).toLocaleString(locale, { timeZone: "Asia/Tehran", dateStyle: "medium", timeStyle: "short" });
}

function say(message) {
  if (!status) return;
  status.textContent = message || "";
  status.classList.toggle("notice", Boolean(message));
}

function popup(properties) {
  const box = document.createElement("div");
  box.className = "map-popup";
  const lines = [
    fill(strings.detector, { id: properties.id }),
    strings[`health_${properties.health}`] || properties.health,
    properties.fault ? strings.faults?.[properties.fault] || properties.fault : "",
    when(properties.last_seen_at),
  ];
  lines.filter(Boolean).forEach((text, index) => {
    const line = document.createElement(index === 0 ? "strong" : "span");
    line.textContent = text;
    box.append(line);
  });
  return box;
}

function start(L) {
  const map = L.map(root, { zoomControl: false, minZoom: 10, maxZoom: 18, zoomSnap: 0.25 });
  map.fitBounds(TEHRAN_BOUNDS);
  L.control
    .zoom({ position: rtl ? "topright" : "topleft", zoomInTitle: strings.zoomIn, zoomOutTitle: strings.zoomOut })
    .addTo(map);
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  if (root.dataset.tileUrl) {
    L.tileLayer(root.dataset.tileUrl, { maxZoom: 19, crossOrigin: true }).addTo(map);
    root.classList.add("has-tiles");
  }
  root.classList.add("map-ready");
  // The streets, faint, so a dot reads as a place on a road even without map tiles.
  if (root.dataset.segmentsUrl) {
    fetch(root.dataset.segmentsUrl, { headers: { Accept: "application/geo+json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : null))
      .then((data) => {
        if (!data) return;
        L.geoJSON(data, { style: { color: "#8795a1", weight: 1.5, opacity: 0.55 }, interactive: false })
          .addTo(map)
          .bringToBack();
      })
      .catch(() => {});
  }
  let layer = null;
  let fitted = false;

  async function load() {
    try {
      const response = await fetch(root.dataset.detectorsUrl, {
        headers: { Accept: "application/geo+json, application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(String(response.status));
      const data = await response.json();
      if (layer) map.removeLayer(layer);
      // Unhealthy detectors are drawn last, so a red or grey dot is never hidden under a green one.
      const order = { ok: 0, silent: 1, failed: 2 };
      data.features.sort((a, b) => (order[a.properties.health] ?? 0) - (order[b.properties.health] ?? 0));
      layer = L.geoJSON(data, {
        pointToLayer: (feature, latlng) =>
          L.circleMarker(latlng, {
            radius: feature.properties.health === "ok" ? 5 : 7,
            color: "#ffffff",
            weight: 1.5,
            fillColor: HEALTH_COLOURS[feature.properties.health] || "#9aa5b1",
            fillOpacity: 1,
          }),
        onEachFeature: (feature, marker) => marker.bindPopup(() => popup(feature.properties)),
      }).addTo(map);
      root.dataset.detectorsCount = String(data.features.length);
      if (!fitted && data.features.length) {
        map.fitBounds(layer.getBounds(), { padding: [16, 16] });
        fitted = true;
      }
      say("");
    } catch {
      say(strings.unavailable);
    } finally {
      root.dataset.layersLoaded = "true";
    }
  }

  load();
  setInterval(load, REFRESH_MS);
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
