// The meter page: the form is plain HTML and works by itself; this module only sends it as
// soon as something changes (a bay, the vehicle, the day, start or duration), so the bays'
// states and the quote follow the citizen's choice without a press of "See the price".

const form = document.getElementById("meter-form");

if (form) {
  let sending = false;
  form.addEventListener("change", (event) => {
    const target = event.target;
    if (sending || !(target instanceof HTMLElement)) return;
    if (!target.matches("select, input[type=radio]")) return;
    // The "another plate" boxes belong to the form that adds the vehicle, not to this one.
    if (target.form !== form) return;
    // A new window may free or take bays: a bay picked for the old one is asked about again.
    sending = true;
    form.classList.add("is-sending");
    form.requestSubmit();
  });
  // Back from the bank's page, the browser may show this page from its cache: send again.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) {
      sending = false;
      form.classList.remove("is-sending");
    }
  });
  const quote = document.getElementById("quote");
  if (quote && location.hash === "#bays" && quote.querySelector(".reserve-form")) {
    quote.scrollIntoView({ block: "start" });
  }
}
