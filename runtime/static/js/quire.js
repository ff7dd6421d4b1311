// Quire's small browser helpers. Loaded as a file (no inline scripts: strict CSP).
document.addEventListener("htmx:configRequest", (event) => {
  // Send the CSRF token with every htmx request that changes something.
  const meta = document.querySelector('input[name="csrf_token"]');
  if (meta && event.detail.verb !== "get") {
    event.detail.headers["X-CSRFToken"] = meta.value;
  }
});
