// The plate-shaped input (shell/_plate_input.html): shows the boxes of the chosen kind's plate,
// reads Persian and Arabic-Indic digits as the digits they are, checks each box as it is
// typed and moves on when a box is full. The server checks again and has the last word; the
// messages come from the page, in its language.

const DIGITS = { "۰": "0", "۱": "1", "۲": "2", "۳": "3", "۴": "4", "۵": "5", "۶": "6", "۷": "7", "۸": "8", "۹": "9",
  "٠": "0", "١": "1", "٢": "2", "٣": "3", "٤": "4", "٥": "5", "٦": "6", "٧": "7", "٨": "8", "٩": "9" };

function asciiDigits(text) {
  return text.replace(/[۰-۹٠-٩]/g, (d) => DIGITS[d]).replace(/\s+/g, "");
}

function problemWith(box, value, messages, finished) {
  if (value && !/^[0-9]+$/.test(value)) return messages.digits;
  if (value && value[0] === "0" && box.dataset.box !== "number") return messages.zero;
  const size = Number(box.dataset.size);
  if (finished && value && value.length !== size) {
    return (messages[box.dataset.box] || "").replace("{count}", String(value.length));
  }
  return "";
}

function setUp(fieldset) {
  const messages = { ...fieldset.dataset };
  Object.keys(messages).forEach((key) => {
    if (key.startsWith("msg")) messages[key.slice(3).toLowerCase()] = messages[key];
  });
  const live = fieldset.querySelector(".plate-live");
  const boxes = [...fieldset.querySelectorAll("input.plate-box")];

  const show = (box, message) => {
    box.setCustomValidity(message);
    box.toggleAttribute("aria-invalid", Boolean(message));
    live.textContent = message;
    live.hidden = !message;
  };

  boxes.forEach((box) => {
    box.addEventListener("input", () => {
      const value = asciiDigits(box.value);
      if (value !== box.value) box.value = value;
      const message = problemWith(box, value, messages, false);
      show(box, message);
      const next = box.closest(".plate-boxes").querySelectorAll(".plate-box");
      const position = [...next].indexOf(box);
      if (!message && value.length === Number(box.dataset.size) && next[position + 1]) {
        next[position + 1].focus();
      }
    });
    box.addEventListener("blur", () => show(box, problemWith(box, box.value, messages, true)));
  });

  // Only the boxes of the chosen kind's plate are shown and sent.
  const kind = fieldset.dataset.kindSelect && document.getElementById(fieldset.dataset.kindSelect);
  const follow = () => {
    const shape = kind && kind.value === "motorcycle" ? "motorcycle" : "car";
    fieldset.querySelectorAll("[data-shape-boxes]").forEach((group) => {
      const other = group.dataset.shapeBoxes !== shape;
      group.hidden = other;
      group.querySelectorAll("input, select").forEach((input) => { input.disabled = other; });
    });
  };
  if (kind) {
    fieldset.classList.add("plate-input-one-shape");
    kind.addEventListener("change", follow);
    follow();
  }
}

document.querySelectorAll("[data-plate-input]").forEach(setUp);
