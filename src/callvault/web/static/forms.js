/* callvault forms: small progressive enhancements. Every form works without this file; the
   server checks everything again. */
(function () {
  "use strict";

  // Show only the inputs of the chosen radio: <input type=radio data-scope-choice value=X>
  // and <div data-scope="X">, within the same form. Hidden inputs are disabled, so they are
  // neither posted nor required.
  function scopeChoices(form) {
    var radios = form.querySelectorAll("input[data-scope-choice]");
    if (!radios.length) return;
    function update() {
      var chosen = form.querySelector("input[data-scope-choice]:checked");
      form.querySelectorAll("[data-scope]").forEach(function (box) {
        var show = chosen !== null && box.getAttribute("data-scope") === chosen.value;
        box.hidden = !show;
        box.querySelectorAll("input, select, textarea").forEach(function (el) {
          el.disabled = !show;
        });
      });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", update); });
    update();
  }

  // <select data-variants-for="ID"> whose options carry data-variants="a b": the select with
  // that id offers only the listed values for the chosen option.
  function allowedOptions(select) {
    var target = document.getElementById(select.getAttribute("data-variants-for"));
    if (!target) return;
    function update() {
      var option = select.options[select.selectedIndex];
      var allowed = (option ? option.getAttribute("data-variants") || "" : "").split(" ");
      var firstAllowed = null;
      Array.prototype.forEach.call(target.options, function (item) {
        var ok = allowed.indexOf(item.value) !== -1;
        item.disabled = !ok;
        item.hidden = !ok;
        if (ok && firstAllowed === null) firstAllowed = item;
      });
      var current = target.options[target.selectedIndex];
      if ((!current || current.disabled) && firstAllowed) firstAllowed.selected = true;
    }
    select.addEventListener("change", update);
    update();
  }

  // <form data-confirm="question">: ask before submitting (e.g. before discarding a draft).
  function confirmations(form) {
    var question = form.getAttribute("data-confirm");
    if (!question) return;
    form.addEventListener("submit", function (event) {
      if (!window.confirm(question)) event.preventDefault();
    });
  }

  // <table class="stack-narrow">: each cell learns its column's heading, which narrow screens
  // show above the value when the rows are stacked (app.css).
  function stackedTables() {
    document.querySelectorAll("table.stack-narrow").forEach(function (table) {
      var headings = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, i) {
          if (headings[i]) cell.setAttribute("data-label", headings[i]);
        });
      });
    });
  }

  // <button data-confirm="question"> in a form: ask before it submits; on yes, tell the server
  // (confirmed=1) so that it does not ask again on a page of its own.
  function confirmButtons() {
    document.querySelectorAll("button[data-confirm]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (!window.confirm(button.getAttribute("data-confirm"))) {
          event.preventDefault();
          return;
        }
        var form = button.form;
        if (form && !form.querySelector("input[name=confirmed]")) {
          var flag = document.createElement("input");
          flag.type = "hidden";
          flag.name = "confirmed";
          flag.value = "1";
          form.appendChild(flag);
        }
      });
    });
  }

  function start() {
    confirmButtons();
    stackedTables();
    document.querySelectorAll("form").forEach(function (form) {
      scopeChoices(form);
      confirmations(form);
    });
    document.querySelectorAll("select[data-variants-for]").forEach(allowedOptions);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
