// The designer page: tabs, drag and drop (SortableJS), formula field chips and shortcuts.
// Every change is an operation posted to the server, which answers with the re-rendered
// workspace; drags and the keyboard buttons send the same operations. No inline script (CSP).
(function () {
  "use strict";
  const root = () => document.getElementById("designer");

  function state() {
    const value = (id) => (document.getElementById(id) || {}).value || "";
    return { version: value("dv"), tab: value("dtab"), sel: value("dsel") };
  }

  function send(op, extra) {
    const designer = root();
    if (!designer) return;
    const values = Object.assign(state(), { op: JSON.stringify(op) }, extra || {});
    htmx.ajax("POST", designer.dataset.opsUrl, { target: "#workspace", values: values });
  }

  function showTab(name) {
    document.querySelectorAll("[data-tab]").forEach((button) => {
      const on = button.dataset.tab === name;
      button.setAttribute("aria-selected", on ? "true" : "false");
      button.classList.toggle("active", on);
    });
    document.querySelectorAll(".dz-panel").forEach((panel) => {
      panel.hidden = panel.id !== "panel-" + name;
    });
    const tab = document.getElementById("dtab");
    if (tab) tab.value = name;
  }

  function place(target, index) {
    if (target.dataset.table) return { table: target.dataset.table, index: index };
    return {
      section: Number(target.dataset.section),
      row: Number(target.dataset.row),
      index: index,
      new_row: target.dataset.newRow === "1",
    };
  }

  function dropped(event) {
    const item = event.item;
    const index = event.newDraggableIndex === undefined ? event.newIndex : event.newDraggableIndex;
    const at = place(event.to, index);
    if (item.dataset.type) {
      send({ op: "add_field", type: item.dataset.type, at: at });
    } else if (item.dataset.key) {
      if (event.from === event.to && event.oldIndex === event.newIndex) return;
      send({ op: "move_field", key: item.dataset.key, at: at });
    }
  }

  function wire() {
    if (!window.Sortable || !root()) return;
    document.querySelectorAll(".palette-list").forEach((list) => {
      Sortable.create(list, {
        group: { name: "fields", pull: "clone", put: false },
        sort: false,
        draggable: ".palette-item",
      });
    });
    document.querySelectorAll(".dz-row").forEach((row) => {
      Sortable.create(row, {
        group: "fields",
        draggable: ".dz-cell",
        handle: ".dz-cell-bar",
        onAdd: dropped,
        onUpdate: dropped,
      });
    });
    document.querySelectorAll(".dz-columns").forEach((list) => {
      Sortable.create(list, {
        group: "fields",
        draggable: ".dz-column",
        onAdd: dropped,
        onUpdate: dropped,
      });
    });
    const movedStep = (event) => {
      const into = event.to.dataset;
      const where = into.group ? { group: into.group, branch: Number(into.branch) } : {};
      send({ op: "move_step", key: event.item.dataset.key, index: event.newDraggableIndex, ...where });
    };
    document.querySelectorAll(".dz-steps").forEach((list) => {
      Sortable.create(list, {
        group: "steps",
        draggable: ".dz-step",
        handle: ".dz-grip",
        // A branch's list names its group and branch: a step dropped there goes into it.
        onUpdate: movedStep,
        onAdd: movedStep,
      });
    });
  }

  // The JSON view: select a problem's line in the editor and scroll to it.
  function showJsonLine(link) {
    const editor = document.getElementById("json-document");
    if (!editor) return;
    const lines = editor.value.split("\n");
    const line = Math.min(Math.max(Number(link.dataset.jsonLine) || 1, 1), lines.length);
    let start = 0;
    for (let i = 0; i < line - 1; i += 1) start += lines[i].length + 1;
    // The whole line, so it stands out; the quote beside the problem marks the column.
    editor.focus();
    editor.setSelectionRange(start, start + lines[line - 1].length);
    const height = parseFloat(getComputedStyle(editor).lineHeight) || 20;
    editor.scrollTop = Math.max(0, (line - 3) * height);
  }

  document.addEventListener("click", (event) => {
    const jsonLine = event.target.closest("[data-json-line]");
    if (jsonLine) {
      event.preventDefault();
      showJsonLine(jsonLine);
      return;
    }
    const tab = event.target.closest("[data-tab], [data-tab-to]");
    if (tab) {
      showTab(tab.dataset.tab || tab.dataset.tabTo);
      return;
    }
    const chip = event.target.closest("[data-insert]");
    if (chip) {
      const input = document.getElementById(chip.dataset.into);
      if (!input) return;
      const start = input.selectionStart ?? input.value.length;
      const end = input.selectionEnd ?? input.value.length;
      input.value = input.value.slice(0, start) + chip.dataset.insert + input.value.slice(end);
      input.focus();
      const caret = start + chip.dataset.insert.length;
      input.setSelectionRange(caret, caret);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    }
  });

  // A chip inserts into the formula being typed: keep the focus there, so the formula is not
  // saved half-written as the input loses focus.
  document.addEventListener("mousedown", (event) => {
    if (event.target.closest("[data-insert]")) event.preventDefault();
  });

  document.addEventListener("keydown", (event) => {
    if (!root() || !(event.ctrlKey || event.metaKey)) return;
    const typing = event.target.closest("input, textarea, select");
    if (typing) return;
    const key = event.key.toLowerCase();
    const id = key === "z" && !event.shiftKey ? "undo" : key === "y" || key === "z" ? "redo" : null;
    const button = id && document.getElementById(id);
    if (button && !button.disabled) {
      event.preventDefault();
      button.click();
    }
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    if (!event.detail.target || event.detail.target.id !== "workspace") return;
    wire();
    // A refused JSON save: the first problem's line is selected in the text kept.
    const first = document.querySelector("#json-problems [data-json-line]");
    if (first && !document.getElementById("panel-json").hidden) showJsonLine(first);
  });
  document.addEventListener("DOMContentLoaded", wire);
})();
