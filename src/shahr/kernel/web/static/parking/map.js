// The parking map: Tehran's districts and metro stations, and the meters with their free-bay
// counts for the chosen vehicle and time. The page lists the meters near a place already (the
// server renders them); this module draws them, asks the search API for the meters in view
// when the map moves, and offers "near me" (geolocation) and "search this area", which reload
// the page for the new place. Without JavaScript or Leaflet, the list still works.
// The base map (tiles, or the offline base layer), the place search and the meter clusters
// come from the shell's basemap module.

import { METRO_LINE_COLOURS, addBaseMap, addPlaceSearch, clusterGroup } from "/static/shell/basemap.js";

const TEHRAN_BOUNDS = [
  [35.56, 51.09],
  [35.83, 51.61],
];
const START_ZOOM = 16;

const root = document.getElementById("parking-map");
const status = document.querySelector(".map-status");
const actions = document.querySelector(".map-actions");
const strings = JSON.parse(document.getElementById("parking-strings")?.textContent || "{}");
const placeStrings = JSON.parse(document.getElementById("place-strings")?.textContent || "{}");
const listed = JSON.parse(document.getElementById("parking-meters")?.textContent || "[]");
const lang = document.documentElement.lang || "fa";
const rtl = document.documentElement.dir === "rtl";

function digits(value) {
  const text = String(value);
  return lang === "fa" ? text.replace(/[0-9]/g, (d) => "۰۱۲۳۴۵۶۷۸۹"[d]) : text;
}

// Money as every page shows it (kernel/money.py's format_toman): Toman, a tenth of the Rial
// the API gives, rounded towards zero, with Persian digits and separators on Persian pages.
const tomanFormat = new Intl.NumberFormat(lang === "fa" ? "fa-IR" : "en-US", { maximumFractionDigits: 0 });

function toman(amountRial) {
  return `${tomanFormat.format(Math.trunc(Number(amountRial) / 10))} ${strings.toman}`;
}

function fill(template, values) {
  return String(template || "").replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function say(message) {
  if (!status || !message) return;
  status.textContent = message;
  status.classList.add("notice");
}

// The page's filters, for the links from a marker to its meter and for the search API.
const query = new URLSearchParams(root?.dataset.query || "");

function meterUrl(id) {
  return `/parking/meters/${id}?${query.toString()}`;
}

// Popups and pins are built as DOM nodes with textContent: street names come from data.
function meterPopup(meter) {
  const box = document.createElement("div");
  box.className = "map-popup";
  const title = document.createElement("strong");
  title.textContent = meter.street;
  box.append(title);
  const free = document.createElement("span");
  free.textContent = fill(strings.free, { free: digits(meter.free), total: digits(meter.total) });
  box.append(free);
  const price = document.createElement("span");
  if (!meter.bookable) price.textContent = strings.closed;
  else if (meter.half_hour) {
    price.textContent = fill(strings.perHalfHour, {
      amount: toman(meter.half_hour),
    });
  } else price.textContent = fill(strings.inAll, { amount: toman(meter.total_rial) });
  box.append(price);
  if (meter.disabled_bays) {
    // Shown to everyone: booking one needs a vehicle with an approved disability permit.
    const disabled = document.createElement("span");
    disabled.className = "map-popup-disabled";
    disabled.textContent = `♿ ${fill(strings.disabled, { count: digits(meter.disabled_bays) })}`;
    box.append(disabled);
  }
  const link = document.createElement("a");
  link.className = "button primary";
  link.href = meterUrl(meter.id);
  link.textContent = strings.choose;
  box.append(link);
  return box;
}

function pinIcon(L, meter) {
  const pin = document.createElement("span");
  const count = document.createElement("b");
  count.textContent = digits(meter.free);
  pin.append(count);
  const state = !meter.bookable ? " is-closed" : meter.free === 0 ? " is-full" : "";
  return L.divIcon({
    className: `meter-pin${state}`,
    html: pin,
    // A 30px square turned 45 degrees: its sharp corner, the pin's tip, is 21px below centre.
    iconSize: [30, 30],
    iconAnchor: [15, 36],
    popupAnchor: [0, -34],
  });
}

function summaryOf(found, known) {
  // The search API's meter, in the shape the page embeds; it gives the stay's price only.
  return {
    id: found.id,
    lon: found.lon,
    lat: found.lat,
    street: lang === "fa" ? found.street_fa : found.street_en,
    free: found.bays_free,
    total: found.bays_total,
    bookable: found.bookable,
    half_hour: known?.half_hour ?? null,
    total_rial: found.price_rial,
  };
}

async function loadJson(url) {
  const response = await fetch(url, {
    headers: { Accept: "application/json, application/geo+json" },
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function start(L) {
  const centre = [Number(root.dataset.centreLat), Number(root.dataset.centreLon)];
  const map = L.map(root, {
    zoomControl: false,
    minZoom: 10,
    maxZoom: 18,
    zoomSnap: 0.5,
    maxBounds: [
      [35.4, 50.9],
      [36.0, 51.8],
    ],
  });
  map.setView(centre, START_ZOOM);
  L.control
    .zoom({
      position: rtl ? "topright" : "topleft",
      zoomInTitle: strings.zoomIn,
      zoomOutTitle: strings.zoomOut,
    })
    .addTo(map);
  root.classList.add("map-ready");
  // This map draws its own metro stations (with popups), so the base layer leaves them out.
  addBaseMap(L, map, root, { stations: false });
  addPlaceSearch(L, map, document.querySelector(".place-search"), { strings: placeStrings });
  const panes = { districts: 410, streets: 420, metro: 440, meters: 620 };
  for (const [name, zIndex] of Object.entries(panes)) {
    map.createPane(name).style.zIndex = String(zIndex);
  }

  loadJson(root.dataset.districtsUrl)
    .then((data) => {
      L.geoJSON(data, {
        pane: "districts",
        interactive: false,
        style: (feature) => ({
          color: "#5b7f95",
          weight: 1.2,
          fillColor: "#fdfcf8",
          fillOpacity: 0.25,
          dashArray: feature.properties?.approximate ? "4 3" : null,
        }),
      }).addTo(map);
    })
    .catch(() => {});
  loadJson(root.dataset.metroUrl)
    .then((data) => {
      L.geoJSON(data, {
        pane: "metro",
        pointToLayer: (feature, latlng) => {
          const lines = feature.properties?.lines || [];
          return L.circleMarker(latlng, {
            pane: "metro",
            radius: 6,
            color: "#ffffff",
            weight: 2,
            fillColor: METRO_LINE_COLOURS[lines[0]] || "#555",
            fillOpacity: 1,
          });
        },
        onEachFeature: (feature, layer) => {
          const p = feature.properties || {};
          const box = document.createElement("div");
          box.className = "map-popup";
          const title = document.createElement("strong");
          title.textContent = lang === "en" ? p.name_en : p.name_fa;
          const lines = document.createElement("span");
          lines.textContent = (p.lines || [])
            .map((n) => fill(strings.line, { number: digits(n) }))
            .join(" · ");
          box.append(title, lines);
          layer.bindPopup(box);
        },
      }).addTo(map);
    })
    .catch(() => {});

  // The place searched: the user's position or the district's centre.
  L.marker(centre, {
    pane: "meters",
    icon: L.divIcon({ className: "here-pin", html: "<span></span>", iconSize: [18, 18] }),
    title: strings.here,
    keyboard: false,
  }).addTo(map);

  // Without tiles, the streets the meters stand on are drawn from the meters themselves:
  // meters alternate sides of a street, so the midpoints of neighbours lie on its centre line.
  const streetLayer = L.layerGroup().addTo(map);
  const drawn = new Map();
  function drawStreets() {
    if (root.classList.contains("has-tiles")) return;
    streetLayer.clearLayers();
    const byStreet = new Map();
    for (const meter of drawn.values()) {
      if (!byStreet.has(meter.street)) byStreet.set(meter.street, []);
      byStreet.get(meter.street).push(meter);
    }
    for (const meters of byStreet.values()) {
      if (meters.length < 2) continue;
      const lons = meters.map((m) => m.lon);
      const lats = meters.map((m) => m.lat);
      const alongLon =
        (Math.max(...lons) - Math.min(...lons)) * Math.cos((lats[0] * Math.PI) / 180) >
        Math.max(...lats) - Math.min(...lats);
      meters.sort((a, b) => (alongLon ? a.lon - b.lon : a.lat - b.lat));
      const mids = [];
      for (let i = 1; i < meters.length; i++) {
        const a = meters[i - 1];
        const b = meters[i];
        mids.push([(a.lat + b.lat) / 2, (a.lon + b.lon) / 2]);
      }
      // Half a spacing past the first and last midpoints, to the ends of the row of meters.
      const beyond = (p, q) => [p[0] + (p[0] - q[0]) / 2, p[1] + (p[1] - q[1]) / 2];
      const line =
        mids.length > 1
          ? [beyond(mids[0], mids[1]), ...mids, beyond(mids.at(-1), mids.at(-2))]
          : [[meters[0].lat, meters[0].lon], [meters[1].lat, meters[1].lon]];
      const options = { pane: "streets", interactive: false, lineCap: "round", lineJoin: "round" };
      L.polyline(line, { ...options, color: "#c5ccd4", weight: 13 }).addTo(streetLayer);
      L.polyline(line, { ...options, color: "#ffffff", weight: 10 }).addTo(streetLayer);
    }
  }

  // Meters in a cluster group: a district's hundreds of meters stay legible zoomed out.
  const meterLayer = clusterGroup(L, { disableClusteringAtZoom: 17, maxClusterRadius: 40 }).addTo(map);
  const markers = new Map();
  function show(meter) {
    drawn.set(meter.id, meter);
    const known = markers.get(meter.id);
    if (known) {
      known.setIcon(pinIcon(L, meter));
      known.setPopupContent(meterPopup(meter));
      return;
    }
    const marker = L.marker([meter.lat, meter.lon], {
      pane: "meters",
      icon: pinIcon(L, meter),
      title: meter.street,
      riseOnHover: true,
    });
    marker.bindPopup(meterPopup(meter));
    meterLayer.addLayer(marker);
    markers.set(meter.id, marker);
  }
  for (const meter of listed) show(meter);
  drawStreets();
  root.dataset.meterCount = String(markers.size);
  root.dataset.ready = "true";

  // Meters in view, for the same vehicle, time and price, when the citizen moves the map.
  let asked = 0;
  async function searchView() {
    const bounds = map.getBounds();
    const params = new URLSearchParams({
      bbox: [
        bounds.getWest().toFixed(5),
        bounds.getSouth().toFixed(5),
        bounds.getEast().toFixed(5),
        bounds.getNorth().toFixed(5),
      ].join(","),
      vehicle_kind: root.dataset.vehicleKind,
      starts_at: root.dataset.startsAt,
      ends_at: root.dataset.endsAt,
      limit: "100",
    });
    if (root.dataset.maxPrice) params.set("max_price_rial", root.dataset.maxPrice);
    const mine = ++asked;
    try {
      const found = await loadJson(`${root.dataset.searchUrl}?${params}`);
      if (mine !== asked) return;
      for (const meter of found.meters || []) {
        show(summaryOf(meter, listed.find((m) => m.id === meter.id)));
      }
      drawStreets();
      root.dataset.meterCount = String(markers.size);
    } catch {
      // The list and the markers already drawn still work.
    }
  }

  const here = actions?.querySelector(".map-search-here");
  const locate = actions?.querySelector(".map-locate");
  if (actions) actions.hidden = false;
  let settled = false;
  map.whenReady(() => {
    setTimeout(() => {
      settled = true;
    }, 400);
  });
  map.on("moveend", () => {
    if (!settled) return;
    searchView();
    if (here) here.hidden = false;
  });
  here?.addEventListener("click", () => {
    const c = map.getCenter();
    query.set("lon", c.lng.toFixed(5));
    query.set("lat", c.lat.toFixed(5));
    location.assign(`/parking?${query.toString()}`);
  });
  locate?.addEventListener("click", () => {
    if (!navigator.geolocation) {
      say(strings.noLocation);
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (position) => {
        query.set("lon", position.coords.longitude.toFixed(5));
        query.set("lat", position.coords.latitude.toFixed(5));
        location.assign(`/parking?${query.toString()}`);
      },
      (error) => say(error.code === 1 ? placeStrings.locationRefused : strings.noLocation),
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 60000 },
    );
  });

  // A meter in the list shows itself on the map when touched for long; a tap follows the link.
  for (const item of document.querySelectorAll(".meter-item")) {
    item.addEventListener("mouseenter", () => {
      const marker = markers.get(Number(item.dataset.meterId));
      marker?.getElement()?.classList.add("is-selected");
    });
    item.addEventListener("mouseleave", () => {
      const marker = markers.get(Number(item.dataset.meterId));
      marker?.getElement()?.classList.remove("is-selected");
    });
  }
}

if (root) {
  if (window.L && typeof window.L.map === "function") {
    start(window.L);
  } else {
    root.classList.add("map-missing");
    root.dataset.ready = "true";
    say(strings.noMap);
  }
}
