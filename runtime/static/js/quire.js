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
