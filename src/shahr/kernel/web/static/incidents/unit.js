// The unit's phone page: shares the phone's position with the command centre while the page
// is open (every fix, at most one every 15 s), and says plainly when the phone refuses.

const button = document.getElementById("share-position");
const state = document.getElementById("position-state");
const strings = JSON.parse(document.getElementById("unit-strings")?.textContent || "{}");
const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const lang = document.documentElement.lang || "fa";
const EVERY_MS = 15_000;
// Each step the unit reports loads the page again: sharing, once asked for, goes on after it.
const SHARING_KEY = "shahr-unit-sharing";

function fill(template, values) {
  return String(template || "").replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function say(message, kind) {
  state.textContent = message;
  state.dataset.kind = kind;
  state.classList.toggle("notice", kind !== "ok");
  state.classList.toggle("error", kind === "error");
}

let watching = null;
let lastSent = 0;

async function send(position) {
  if (Date.now() - lastSent < EVERY_MS) return;
  lastSent = Date.now();
  try {
    const response = await fetch(button.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({
        lon: position.coords.longitude,
        lat: position.coords.latitude,
        reported_at: new Date(position.timestamp).toISOString(),
      }),
    });
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      say(fill(strings.rejected, { reason: problem.detail || response.status }), "error");
      return;
    }
    const locale = lang === "fa" ? "fa-IR" : "en-GB";
    const time = new Date().toLocaleTimeString(locale, { timeZone: "Asia/Tehran", timeStyle: "short" });
    say(fill(strings.sent, { time }), "ok");
    button.dataset.sent = String(Number(button.dataset.sent || 0) + 1);
  } catch {
    say(strings.offline, "error");
  }
}

function refused(error) {
  sessionStorage.removeItem(SHARING_KEY);
  if (watching !== null) navigator.geolocation.clearWatch(watching);
  watching = null;
  button.disabled = false;
  say(error && error.code === 1 ? strings.refused : strings.unavailable, "error");
}

function share() {
  if (!("geolocation" in navigator)) {
    say(strings.unsupported, "error");
    return;
  }
  if (watching !== null) return;
  say(strings.sharing, "ok");
  lastSent = 0;
  sessionStorage.setItem(SHARING_KEY, "on");
  watching = navigator.geolocation.watchPosition(send, refused, { enableHighAccuracy: true, maximumAge: 10_000, timeout: 30_000 });
}

if (button && state) {
  button.addEventListener("click", share);
  if (sessionStorage.getItem(SHARING_KEY) === "on") share();
}
