// The home page map: Tehran's districts, metro stations and air-quality stations, drawn from
// the city's own GeoJSON endpoints, over the base map (tiles when data-tile-url is set, else
// the offline base layer). Stations are clustered; a search box flies the map to a place.
// A layer whose endpoint fails is skipped and named below the map.

import {
  METRO_LINE_COLOURS,
  addBaseMap,
  addCentreOnMe,
  addPlaceSearch,
  clusterGroup,
} from "/static/shell/basemap.js";

const TEHRAN_BOUNDS = [
  [35.56, 51.09],
  [35.83, 51.61],
];

const root = document.getElementById("city-map");
const status = document.querySelector(".map-status");
const toggles = document.querySelector(".map-layers");
const strings = JSON.parse(document.getElementById("map-strings")?.textContent || "{}");
const placeStrings = JSON.parse(document.getElementById("place-strings")?.textContent || "{}");
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

// Popups are built as DOM nodes with textContent: station names come from data, never as HTML.
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

function localName(properties) {
  return (lang === "en" ? properties.name_en : properties.name_fa) || properties.name_fa || "";
}

async function loadGeoJson(url) {
  const response = await fetch(url, {
    headers: { Accept: "application/geo+json, application/json" },
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  const data = await response.json();
  if (!data || !Array.isArray(data.features)) throw new Error(`${url}: not a FeatureCollection`);
  return data;
}

function districtLayer(L, data) {
  return L.geoJSON(data, {
    pane: "districts",
    style: (feature) => ({
      color: "#5b7f95",
      weight: 1.2,
      opacity: 0.9,
      // A light wash: the base map (roads, metro lines) shows through.
      fillColor: "#fdfcf8",
      fillOpacity: 0.25,
      // Hand-digitised edges are drawn dashed, and their popup says so.
      dashArray: feature.properties?.approximate ? "4 3" : null,
    }),
    onEachFeature: (feature, layer) => {
      const p = feature.properties || {};
      const title = fill(strings.district, { number: digits(p.district) });
      const name = localName(p);
      layer.bindPopup(
        popup(title, [name !== title ? name : "", p.approximate ? strings.approximate : ""]),
      );
      layer.bindTooltip(digits(p.district), {
        permanent: true,
        direction: "center",
        className: "district-label",
        pane: "districtLabels",
      });
    },
  });
}

function metroIcon(L, lines) {
  const dot = document.createElement("span");
  dot.style.setProperty("--line", METRO_LINE_COLOURS[lines[0]] || "#555");
  const interchange = lines.length > 1;
  return L.divIcon({
    className: `metro-pin${interchange ? " is-interchange" : ""}`,
    html: dot,
    iconSize: interchange ? [12, 12] : [10, 10],
  });
}

// Markers in a cluster group: 150 stations stay legible at city zoom.
function metroLayer(L, data) {
  const group = clusterGroup(L, { kind: "metro", disableClusteringAtZoom: 13 });
  L.geoJSON(data, {
    pointToLayer: (feature, latlng) =>
      L.marker(latlng, {
        icon: metroIcon(L, feature.properties?.lines || []),
        title: localName(feature.properties || {}),
        keyboard: false,
      }),
    onEachFeature: (feature, layer) => {
      const p = feature.properties || {};
      const lines = (p.lines || []).map((n) => fill(strings.line, { number: digits(n) }));
      const other = lang === "en" ? p.name_fa : p.name_en;
      layer.bindPopup(popup(localName(p), [other, lines.join(" · ")]));
    },
  }).eachLayer((marker) => group.addLayer(marker));
  return group;
}

function airLayer(L, data) {
  // A diamond, so a monitoring station never reads as a metro stop.
  const icon = L.divIcon({ className: "aq-marker", html: "<span></span>", iconSize: [14, 14] });
  const group = clusterGroup(L, { kind: "air", disableClusteringAtZoom: 13 });
  L.geoJSON(data, {
    pointToLayer: (_feature, latlng) => L.marker(latlng, { icon, keyboard: false }),
    onEachFeature: (feature, layer) => {
      const p = feature.properties || {};
      const district = p.district ? fill(strings.district, { number: digits(p.district) }) : "";
      layer.bindPopup(popup(p.name_fa || "", [strings.station, district]));
    },
  }).eachLayer((marker) => group.addLayer(marker));
  return group;
}

function start(L) {
  const map = L.map(root, {
    zoomControl: false,
    attributionControl: true,
    minZoom: 9,
    maxZoom: 18,
    zoomSnap: 0.25,
  });
  map.fitBounds(TEHRAN_BOUNDS);
  L.control
    .zoom({
      position: rtl ? "topright" : "topleft",
      zoomInTitle: strings.zoomIn,
      zoomOutTitle: strings.zoomOut,
    })
    .addTo(map);
  root.classList.add("map-ready");
  // The home map draws its own stations (with popups), so the base layer leaves them out.
  addBaseMap(L, map, root, { stations: false });
  addPlaceSearch(L, map, document.querySelector(".place-search"), { strings: placeStrings });
  addCentreOnMe(L, map, document.querySelector(".map-centre-on-me"), {
    strings: placeStrings,
    say: (message) => {
      if (status) status.replaceChildren();
      say(message);
    },
  });

  // One pane each, drawn in this order, so each layer can be counted and toggled on its own.
  const panes = { districts: 410, districtLabels: 420 };
  for (const [name, zIndex] of Object.entries(panes)) {
    map.createPane(name).style.zIndex = String(zIndex);
  }
  map.getPane("districtLabels").style.pointerEvents = "none";

  const sources = [
    { key: "districts", url: root.dataset.districtsUrl, build: districtLayer },
    { key: "metro", url: root.dataset.metroUrl, build: metroLayer },
    { key: "air", url: root.dataset.airUrl, build: airLayer },
  ];
  const layers = {};
  let pending = sources.length;

  for (const source of sources) {
    loadGeoJson(source.url)
      .then((data) => {
        const layer = source.build(L, data);
        layers[source.key] = layer;
        const input = toggles?.querySelector(`input[data-layer="${source.key}"]`);
        if (!input || input.checked) layer.addTo(map);
        root.dataset[`${source.key}Count`] = String(data.features.length);
        if (source.key === "districts" && data.features.length) {
          map.fitBounds(layer.getBounds(), { padding: [8, 8] });
        }
      })
      .catch(() => {
        root.dataset[`${source.key}Count`] = "0";
        const input = toggles?.querySelector(`input[data-layer="${source.key}"]`);
        if (input) {
          input.disabled = true;
          input.closest("label")?.classList.add("unavailable");
        }
        say(fill(strings.unavailable, { layer: strings[source.key] }));
      })
      .finally(() => {
        pending -= 1;
        if (pending === 0) root.dataset.layersLoaded = "true";
      });
  }

  if (toggles) {
    toggles.hidden = false;
    toggles.addEventListener("change", (event) => {
      const input = event.target;
      const layer = layers[input?.dataset?.layer];
      if (!layer) return;
      // A district's permanent label leaves and comes back with its polygon.
      if (input.checked) layer.addTo(map);
      else map.removeLayer(layer);
    });
  }
}

if (root) {
  if (window.L && typeof window.L.map === "function") {
    start(window.L);
  } else {
    // The vendor folder is missing (no `make assets`): the page still works without the map.
    root.classList.add("map-missing");
    root.dataset.layersLoaded = "true";
    say(strings.noMap);
  }
}
