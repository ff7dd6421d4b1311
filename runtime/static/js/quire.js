// Quire's small browser helpers. Loaded as a file (no inline scripts: strict CSP).
document.addEventListener("htmx:configRequest", (event) => {
  // Send the CSRF token with every htmx request that changes something.
  const meta = document.querySelector('input[name="csrf_token"]');
  if (meta && event.detail.verb !== "get") {
    event.detail.headers["X-CSRFToken"] = meta.value;
  }
});

// Buttons that only work through htmx are drawn disabled and come alive once htmx has
// processed them, so a click on a slow device is never silently lost.
document.addEventListener("htmx:load", (event) => {
  const root = event.detail.elt;
  const waiting = root.matches && root.matches("[data-needs-htmx]") ? [root] : [];
  waiting.push(...root.querySelectorAll("[data-needs-htmx]"));
  for (const element of waiting) {
    element.disabled = false;
    element.removeAttribute("data-needs-htmx");
  }
});

// htmx drops 4xx answers. A 422 that redraws the element it targets (an upload slot with the
// reason the file was refused) is meant to be shown, so swap it like a success.
document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail;
  if (detail.xhr.status !== 422 || !detail.target || !detail.target.id) {
    return;
  }
  const parsed = new DOMParser().parseFromString(detail.serverResponse, "text/html");
  const first = parsed.body.firstElementChild;
  if (first && first.id === detail.target.id) {
    detail.shouldSwap = true;
    detail.isError = false;
  }
});

document.addEventListener("htmx:beforeSwap", (event) => {
  // Elements marked data-swap-errors show the server's 4xx answer (a sentence saying why)
  // instead of htmx's default of dropping it.
  const status = event.detail.xhr.status;
  if (status >= 400 && status < 500 && event.detail.elt.closest("[data-swap-errors]")) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Autosave: the form is saved as a draft while it is typed (htmx, see forms/edit.html). Until
// the latest change is saved, leaving the page asks first.
(() => {
  let edits = 0;
  let savedEdits = 0;
  let leaving = false;
  const form = () => document.querySelector("form[data-autosave]");
  const changed = () => {
    edits += 1;
  };
  document.addEventListener("input", (event) => {
    if (event.target.closest && event.target.closest("form[data-autosave]")) changed();
  });
  document.body.addEventListener("quire-lines-changed", changed);
  document.body.addEventListener("quire-form-changed", changed);
  document.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.elt.id === "autosave") event.detail.elt.dataset.edits = String(edits);
  });
  document.addEventListener("quire-saved", (event) => {
    const sent = Number(event.target.dataset ? event.target.dataset.edits : edits);
    savedEdits = Math.max(savedEdits, sent);
  });
  document.addEventListener("submit", (event) => {
    if (event.target === form()) leaving = true;
  });
  window.addEventListener("beforeunload", (event) => {
    if (form() && !leaving && edits > savedEdits) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
