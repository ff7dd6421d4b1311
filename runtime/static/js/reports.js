// Report charts: each .vega-chart names a <script type="application/json"> block holding
// its Vega-Lite spec. Drawn with vega-embed and the expression interpreter, so the page's
// strict Content Security Policy needs neither inline scripts nor unsafe-eval.
(function () {
  "use strict";

  function draw(el) {
    // A spec in a data block, or (in fragments htmx swaps in, which drop script elements)
    // in the element's own data-vega attribute.
    const block = el.dataset.spec ? document.getElementById(el.dataset.spec) : null;
    const text = block ? block.textContent : el.dataset.vega;
    if (!text || !window.vegaEmbed) return;
    let spec;
    try {
      spec = JSON.parse(text);
    } catch (err) {
      el.textContent = "";
      return;
    }
    window
      .vegaEmbed(el, spec, {
        ast: true,
        expr: window.vegaInterpreter.expressionInterpreter,
        renderer: "svg",
        actions: false,
        // vega-embed would add a <style> element and a tooltip stylesheet; the CSP forbids both.
        defaultStyle: false,
        tooltip: false,
      })
      .then(() => el.setAttribute("data-rendered", "true"))
      .catch((err) => {
        el.setAttribute("data-error", String(err));
      });
  }

  function drawAll(root) {
    root.querySelectorAll(".vega-chart[data-spec], .vega-chart[data-vega]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => drawAll(document));
  } else {
    drawAll(document);
  }
  document.addEventListener("htmx:afterSwap", (event) => drawAll(event.target));
})();
