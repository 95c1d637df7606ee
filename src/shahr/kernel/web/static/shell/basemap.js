// What every map shares: the base map (the city's tiles, or the offline base layer drawn from
// its own data), the place search box that flies the map to a place, "centre on me", and the
// cluster groups that keep many markers legible. Each page's module calls these.

// Tehran Metro's line colours, as on the stations' signs.
export const METRO_LINE_COLOURS = {
  1: "#e0001f",
  2: "#2f4389",
  3: "#67c5f5",
  4: "#f8e100",
  5: "#007e46",
  6: "#ef639f",
  7: "#7f0b74",
};

const BASE_LAYER_URL = "/api/v1/maps/base-layer";
const DATA_ATTRIBUTION =
  'Metro: <a href="https://github.com/mostafa-kheibary/tehran-metro-data">tehran-metro-data</a>, ' +
  '<a href="https://www.openstreetmap.org/copyright">© OpenStreetMap contributors, ODbL</a>';

// Grey roads, wider and darker for the higher classes; streets known from meters are thin.
const ROAD_STYLES = {
  freeway: { color: "#a3acb5", weight: 5 },
  expressway: { color: "#aab2ba", weight: 4.5 },
  major_arterial: { color: "#b3bac1", weight: 3.5 },
  minor_arterial: { color: "#bcc2c8", weight: 3 },
  collector: { color: "#c6cbd0", weight: 2.5 },
  local: { color: "#d0d4d8", weight: 1.5 },
  street: { color: "#c3c9cf", weight: 2.5 },
};

const lang = () => document.documentElement.lang || "fa";

export function digits(value) {
  const text = String(value);
  return lang() === "fa" ? text.replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]) : text;
}

function localName(properties) {
  return (lang() === "en" ? properties.name_en : properties.name_fa) || properties.name_fa || "";
}

function baseStyle(feature) {
  const p = feature.properties || {};
  if (p.layer === "district") {
    return { color: "#9aa9b5", weight: 1, opacity: 0.9, dashArray: "5 4", fill: false };
  }
  if (p.layer === "metro_line") {
    return { color: METRO_LINE_COLOURS[p.line] || "#777", weight: 2.5, opacity: 0.85 };
  }
  const road = ROAD_STYLES[p.class] || ROAD_STYLES.local;
  return { ...road, opacity: 1, lineCap: "round", lineJoin: "round" };
}

// The offline base layer: one GeoJSON file with districts, roads, metro lines and stations,
// drawn as SVG paths in its own pane under every other layer. `stations: false` leaves the
// stations to a page that draws its own (with popups).
function drawBaseLayer(L, map, root, { stations = true } = {}) {
  map.createPane("base").style.zIndex = "250";
  map.getPane("base").style.pointerEvents = "none";
  const renderer = L.svg({ pane: "base", padding: 0.5 });
  root.classList.add("has-base-layer");
  return fetch(root.dataset.baseLayerUrl || BASE_LAYER_URL, {
    headers: { Accept: "application/geo+json" },
    credentials: "same-origin",
  })
    .then((response) => {
      if (!response.ok) throw new Error(`base layer: ${response.status}`);
      return response.json();
    })
    .then((data) => {
      const features = data.features.filter(
        (f) => stations || f.properties?.layer !== "metro_station",
      );
      const layer = L.geoJSON(
        { type: "FeatureCollection", features },
        {
          pane: "base",
          renderer,
          interactive: false,
          style: baseStyle,
          pointToLayer: (feature, latlng) =>
            L.circleMarker(latlng, {
              pane: "base",
              renderer,
              interactive: false,
              radius: 2.5,
              color: METRO_LINE_COLOURS[feature.properties?.lines?.[0]] || "#555",
              weight: 1.5,
              fillColor: "#ffffff",
              fillOpacity: 1,
            }),
        },
      ).addTo(map);
      root.dataset.baseLayer = String(features.length);
      return layer;
    })
    .catch(() => {
      // The page's own layers still draw; the land colour stays.
      root.dataset.baseLayer = "0";
      return null;
    });
}

// The base map: the city's tile server when one is set (with its attribution), else the
// offline base layer. Returns a promise that settles once the base map is on.
export function addBaseMap(L, map, root, options = {}) {
  map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  map.attributionControl.addAttribution(DATA_ATTRIBUTION);
  const tileUrl = root.dataset.tileUrl;
  if (tileUrl) {
    L.tileLayer(tileUrl, {
      maxZoom: 19,
      crossOrigin: true,
      attribution: root.dataset.tileAttribution || "",
    }).addTo(map);
    root.classList.add("has-tiles");
    root.dataset.baseLayer = "tiles";
    return Promise.resolve(null);
  }
  return drawBaseLayer(L, map, root, options);
}

// A cluster group when the plugin is loaded, else a plain layer group: the markers still show.
export function clusterGroup(L, { kind = "", ...options } = {}) {
  if (typeof L.markerClusterGroup !== "function") return L.layerGroup();
  return L.markerClusterGroup({
    showCoverageOnHover: false,
    spiderfyOnMaxZoom: true,
    maxClusterRadius: 45,
    iconCreateFunction: (cluster) => {
      const count = document.createElement("span");
      count.textContent = digits(cluster.getChildCount());
      const className = kind ? `map-cluster is-${kind}` : "map-cluster";
      return L.divIcon({ className, html: count, iconSize: [34, 34] });
    },
    ...options,
  });
}

function flyTo(L, map, place) {
  if (place.bbox) {
    const [w, s, e, n] = place.bbox;
    map.flyToBounds(
      [
        [s, w],
        [n, e],
      ],
      { padding: [24, 24], maxZoom: 17, duration: 0.8 },
    );
  } else {
    map.flyTo([place.lat, place.lon], Math.max(map.getZoom(), 15), { duration: 0.8 });
  }
}

// The search box: suggestions as the citizen types (Persian or English), Enter or a tap
// flies the map to the place and marks it. `onPick` hears the place chosen.
export function addPlaceSearch(L, map, form, { strings, onPick } = {}) {
  if (!form) return;
  const input = form.querySelector("input[type=search]");
  const list = form.querySelector(".place-results");
  const note = form.querySelector(".place-note");
  let found = [];
  let active = -1;
  let asked = 0;
  let timer = null;
  let marker = null;
  form.hidden = false;

  function tell(message) {
    if (note) note.textContent = message || "";
  }

  function close() {
    input.removeAttribute("aria-activedescendant");
    list.replaceChildren();
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
  }

  function pick(place) {
    close();
    input.value = place.name;
    tell(fill(strings.shown, { place: place.name }));
    const container = map.getContainer();
    delete container.dataset.placeShown;
    // Said once the flight has landed (for people reading the page's state, and its tests).
    map.once("moveend", () => {
      container.dataset.placeShown = place.name_en || place.name;
    });
    flyTo(L, map, place);
    marker?.remove();
    marker = L.marker([place.lat, place.lon], {
      icon: L.divIcon({ className: "place-pin", html: "<span></span>", iconSize: [22, 22] }),
      title: place.name,
      keyboard: false,
      zIndexOffset: 1000,
    }).addTo(map);
    container.dataset.place = place.name_en || place.name;
    onPick?.(place);
  }

  function show(places) {
    found = places;
    active = -1;
    input.removeAttribute("aria-activedescendant");
    list.replaceChildren();
    for (const [i, place] of places.entries()) {
      const item = document.createElement("li");
      item.id = `place-${i}`;
      item.setAttribute("role", "option");
      const name = document.createElement("strong");
      name.textContent = place.name;
      const detail = document.createElement("span");
      detail.textContent = place.detail;
      item.append(name, detail);
      item.addEventListener("click", () => pick(place));
      list.append(item);
    }
    list.hidden = places.length === 0;
    input.setAttribute("aria-expanded", String(places.length > 0));
  }

  async function ask(text) {
    const mine = ++asked;
    const response = await fetch(`/api/v1/places?${new URLSearchParams({ q: text })}`, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({}));
    if (mine !== asked) return null;
    if (!response.ok) {
      close();
      tell(body.detail || strings.failed);
      return null;
    }
    show(body.places || []);
    tell(body.places?.length ? "" : strings.none);
    return body.places || [];
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) {
      close();
      tell("");
      return;
    }
    timer = setTimeout(() => ask(text).catch(() => tell(strings.failed)), 200);
  });
  // The list is a combobox's listbox: arrows move the active option, Enter picks it.
  function activate(index) {
    const items = [...list.children];
    if (!items.length) return;
    active = (index + items.length) % items.length;
    for (const [i, item] of items.entries()) item.setAttribute("aria-selected", String(i === active));
    input.setAttribute("aria-activedescendant", items[active].id);
    items[active].scrollIntoView({ block: "nearest" });
  }
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
    else if (event.key === "ArrowDown" && !list.hidden) {
      event.preventDefault();
      activate(active + 1);
    } else if (event.key === "ArrowUp" && !list.hidden) {
      event.preventDefault();
      activate(active - 1);
    } else if (event.key === "Enter" && !list.hidden && found[active]) {
      event.preventDefault();
      pick(found[active]);
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    const text = input.value.trim();
    if (!text) {
      tell(strings.empty);
      return;
    }
    try {
      const places = await ask(text);
      if (places?.length) pick(places[0]);
    } catch {
      tell(strings.failed);
    }
  });
}

function fill(template, values) {
  return String(template || "").replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

// "Centre on me": the browser's position, asked only when the button is pressed, with a
// plain message when the citizen refuses or the device cannot tell.
export function addCentreOnMe(L, map, button, { strings, say }) {
  if (!button) return;
  button.hidden = false;
  let dot = null;
  button.addEventListener("click", () => {
    if (!("geolocation" in navigator)) {
      say(strings.locationUnsupported);
      return;
    }
    button.setAttribute("aria-busy", "true");
    navigator.geolocation.getCurrentPosition(
      (position) => {
        button.removeAttribute("aria-busy");
        const here = [position.coords.latitude, position.coords.longitude];
        dot?.remove();
        dot = L.circleMarker(here, {
          radius: 7,
          color: "#ffffff",
          weight: 2,
          fillColor: "#1a73e8",
          fillOpacity: 1,
        }).addTo(map);
        map.flyTo(here, Math.max(map.getZoom(), 15), { duration: 0.8 });
        say("");
      },
      (error) => {
        button.removeAttribute("aria-busy");
        say(error.code === 1 ? strings.locationRefused : strings.locationUnavailable);
      },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  });
}
