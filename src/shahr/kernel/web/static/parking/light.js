// The confirmation page's bay light, live: what the platform asks the meter to show (desired)
// and what the meter says it shows (reported), kept apart, from the lights API's Server-Sent
// Events stream (polling the same API when the stream is not available). The drawing of the
// meter lights each lamp with its reported colour; the citizen's bay is ringed.
//
// While a payment is still being taken in (the bank or the wallet has paid, the event is on
// its way), the page asks for the reservation until nothing is due and then reloads.

const panel = document.getElementById("bay-light");
const strings = JSON.parse(document.getElementById("light-strings")?.textContent || "{}");
const lang = document.documentElement.lang || "fa";
const POLL_MS = 2000;
const CONFIRM_POLL_MS = 1000;
const CONFIRM_TRIES = 30;

const timeFormat = new Intl.DateTimeFormat(lang === "fa" ? "fa-IR" : "en-GB", {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  timeZone: "Asia/Tehran",
});

function clock(iso) {
  return iso ? timeFormat.format(new Date(iso)) : "";
}

function fill(template, values) {
  return String(template || "").replace(/\{(\w+)\}/g, (_, key) => values[key] ?? "");
}

function colourName(colour) {
  return strings[colour] || strings.unknown;
}

function render(snapshot) {
  const mine = Number(panel.dataset.bayNumber);
  for (const lamp of panel.querySelectorAll(".lamp")) {
    const bay = snapshot.bays.find((b) => b.bay_number === Number(lamp.dataset.bayNumber));
    const shown = bay?.reported?.color || (bay?.state === "shown" ? bay.desired.color : "off");
    lamp.classList.remove("lamp-unknown", "lamp-green", "lamp-red", "lamp-off");
    lamp.classList.add(`lamp-${shown}`);
  }
  const bay = snapshot.bays.find((b) => b.bay_number === mine);
  if (!bay) return;
  const desired = panel.querySelector(".light-desired");
  const reported = panel.querySelector(".light-reported");
  const big = panel.querySelector(".light-big");
  const message = panel.querySelector(".light-message");
  desired.dataset.color = bay.desired.color;
  desired.textContent = colourName(bay.desired.color);
  if (bay.desired.until && bay.desired.color !== "off") {
    desired.textContent += ` · ${fill(strings.until, { time: clock(bay.desired.until) })}`;
  }
  // No report yet, but nothing was ever asked of the bay: it shows the default, off.
  const unasked = !bay.reported && bay.state === "shown";
  const shown = bay.reported?.color || (unasked ? bay.desired.color : "unknown");
  reported.dataset.color = bay.reported ? shown : "";
  reported.textContent = bay.reported
    ? `${colourName(shown)} · ${fill(strings.since, { time: clock(bay.reported.at) })}`
    : unasked
      ? colourName(shown)
      : strings.unknown;
  const dot = big.querySelector(".light-dot");
  dot.className = `light-dot light-${shown}`;
  big.querySelector(".light-text").textContent =
    shown === "green" ? strings.greenNow : shown === "red" ? strings.redNow : colourName(shown);
  const upcoming = panel.dataset.startsAt && new Date(panel.dataset.startsAt) > new Date();
  if (!(upcoming && bay.desired.color === "off")) {
    message.textContent = snapshot.online === false ? `${strings.offline}. ${bay.message}` : bay.message;
  }
  panel.dataset.reported = shown;
  panel.dataset.desired = bay.desired.color;
  panel.dataset.inStep = String(bay.in_step);
  panel.classList.toggle("is-green", shown === "green");
}

async function read(url) {
  const response = await fetch(url, {
    headers: { Accept: "application/json" },
    credentials: "same-origin",
  });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

function poll() {
  const tick = async () => {
    try {
      render(await read(panel.dataset.lightsUrl));
    } catch {
      // Try again on the next tick.
    }
    setTimeout(tick, POLL_MS);
  };
  tick();
}

function watch() {
  if (!("EventSource" in window)) {
    poll();
    return;
  }
  const stream = new EventSource(panel.dataset.streamUrl);
  let heard = false;
  stream.addEventListener("lights", (event) => {
    heard = true;
    try {
      render(JSON.parse(event.data));
    } catch {
      // A frame that cannot be read is skipped; the next one carries the whole state.
    }
  });
  stream.addEventListener("error", () => {
    // EventSource reconnects by itself; if the stream never worked, poll instead.
    if (!heard && stream.readyState === EventSource.CLOSED) poll();
  });
  panel.dataset.live = "stream";
}

async function waitForConfirmation() {
  const message = panel.querySelector(".light-message");
  message.textContent = strings.confirming;
  for (let i = 0; i < CONFIRM_TRIES; i++) {
    await new Promise((resolve) => setTimeout(resolve, CONFIRM_POLL_MS));
    try {
      const reservation = await read(panel.dataset.reservationUrl);
      if (reservation.amount_due_rial === 0) {
        location.reload();
        return;
      }
    } catch {
      // Keep asking.
    }
  }
}

if (panel) {
  read(panel.dataset.lightsUrl)
    .then(render)
    .catch(() => {})
    .finally(watch);
  if (panel.dataset.confirming === "true") waitForConfirmation();
}
