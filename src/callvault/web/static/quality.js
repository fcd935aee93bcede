/* callvault quality-assurance pages: the form editor, autosaved evaluations beside the player,
   comments that seek, agent feedback and the calibration reference. They call /api/v1/qa with
   the session's CSRF token; every rule is checked there again. */
(function () {
  "use strict";

  function csrf() {
    try { return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRF-Token"]; }
    catch (e) { return ""; }
  }

  function call(method, url, body) {
    return fetch(url, {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.message || String(response.status)); }
        return data;
      });
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function clock(seconds) {
    var s = Math.floor(seconds);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  // --- the form editor -------------------------------------------------------------------------
  var uid = 0;
  function field(labelText, input) {
    var id = "fe-" + (++uid);
    input.id = id;
    return el("div", { "class": "field" }, [el("label", { "for": id, text: labelText }), input]);
  }

  function questionBox(L, q) {
    var box = el("fieldset", { "class": "question", "data-q": "" });
    box.appendChild(el("legend", { text: L.question }));
    var sv = el("input", { "data-k": "text_sv" }); sv.value = q ? q.text.sv : "";
    var en = el("input", { "data-k": "text_en" }); en.value = q ? q.text.en : "";
    var kind = el("select", { "data-k": "kind" });
    ["yes_no", "scale", "choice"].forEach(function (k) {
      var o = el("option", { value: k, text: L[k] }); if (q && q.kind === k) { o.selected = true; }
      kind.appendChild(o);
    });
    var weight = el("input", { type: "number", min: "0", step: "0.5", "data-k": "weight" });
    weight.value = q ? q.weight : 1;
    var critical = el("input", { type: "checkbox", "data-k": "critical" });
    critical.checked = !!(q && q.critical);
    var na = el("input", { type: "checkbox", "data-k": "allow_na" }); na.checked = !!(q && q.allow_na);
    var options = el("textarea", { "data-k": "options", rows: "3" });
    options.value = q && q.options ? q.options.map(function (o) {
      return o.label.sv + " | " + o.label.en + " | " + o.points;
    }).join("\n") : "";
    var helpSv = el("input", { "data-k": "help_sv" }); helpSv.value = q && q.help ? q.help.sv || "" : "";
    var helpEn = el("input", { "data-k": "help_en" }); helpEn.value = q && q.help ? q.help.en || "" : "";
    [field(L.text_sv, sv), field(L.text_en, en), field(L.help_sv, helpSv), field(L.help_en, helpEn),
     field(L.kind, kind), field(L.weight, weight)]
      .forEach(function (f) { box.appendChild(f); });
    box.appendChild(el("label", { "class": "choice" }, [critical, document.createTextNode(" " + L.critical)]));
    box.appendChild(el("label", { "class": "choice" }, [na, document.createTextNode(" " + L.allow_na)]));
    box.appendChild(field(L.options, options));
    var remove = el("button", { type: "button", "class": "link-button", text: L.remove });
    remove.addEventListener("click", function () { box.remove(); });
    box.appendChild(remove);
    return box;
  }

  function sectionBox(L, s) {
    var box = el("section", { "class": "panel", "data-s": "" });
    var sv = el("input", { "data-k": "title_sv" }); sv.value = s ? s.title.sv : "";
    var en = el("input", { "data-k": "title_en" }); en.value = s ? s.title.en : "";
    box.appendChild(el("h2", { text: L.section }));
    box.appendChild(field(L.title_sv, sv));
    box.appendChild(field(L.title_en, en));
    var list = el("div", { "data-questions": "" });
    (s ? s.questions : [null]).forEach(function (q) { list.appendChild(questionBox(L, q)); });
    box.appendChild(list);
    var add = el("button", { type: "button", "class": "secondary", text: L.add_question });
    add.addEventListener("click", function () { list.appendChild(questionBox(L, null)); });
    var remove = el("button", { type: "button", "class": "link-button", text: L.remove });
    remove.addEventListener("click", function () { box.remove(); });
    box.appendChild(el("p", {}, [add, document.createTextNode(" "), remove]));
    return box;
  }

  function readForm(root) {
    function v(node, k) { var n = node.querySelector("[data-k='" + k + "']"); return n.type === "checkbox" ? n.checked : n.value; }
    return {
      title: { sv: root.querySelector("[data-title-sv]").value, en: root.querySelector("[data-title-en]").value },
      sections: Array.prototype.map.call(root.querySelectorAll("[data-s]"), function (s) {
        return {
          title: { sv: v(s, "title_sv"), en: v(s, "title_en") },
          questions: Array.prototype.map.call(s.querySelectorAll("[data-q]"), function (q) {
            var out = { text: { sv: v(q, "text_sv"), en: v(q, "text_en") }, kind: v(q, "kind"),
                        weight: parseFloat(v(q, "weight") || "0"), critical: v(q, "critical"),
                        allow_na: v(q, "allow_na") };
            var help = { sv: v(q, "help_sv").trim(), en: v(q, "help_en").trim() };
            if (help.sv || help.en) { out.help = { sv: help.sv || help.en, en: help.en || help.sv }; }
            if (out.kind === "choice") {
              out.options = v(q, "options").split("\n").filter(function (l) { return l.trim(); })
                .map(function (line) {
                  var p = line.split("|").map(function (x) { return x.trim(); });
                  return { label: { sv: p[0] || "", en: p[1] || p[0] || "" }, points: parseFloat(p[2] || "0") };
                });
            }
            return out;
          })
        };
      })
    };
  }

  function formEditor(root) {
    var L = JSON.parse(root.getAttribute("data-labels"));
    var form = JSON.parse(root.getAttribute("data-form") || "null");
    var formId = root.getAttribute("data-form-id");
    var sections = root.querySelector("[data-sections]");
    var status = root.querySelector("[data-status]");
    if (form) {
      root.querySelector("[data-title-sv]").value = form.title.sv;
      root.querySelector("[data-title-en]").value = form.title.en;
      form.sections.forEach(function (s) { sections.appendChild(sectionBox(L, s)); });
    } else {
      sections.appendChild(sectionBox(L, null));
    }
    root.querySelector("[data-add-section]").addEventListener("click", function () {
      sections.appendChild(sectionBox(L, null));
    });
    function save() {
      var body = readForm(root);
      var request = formId ? call("PUT", "/api/v1/qa/forms/" + formId, body) : call("POST", "/api/v1/qa/forms", body);
      return request.then(function (data) {
        formId = data.id;
        root.setAttribute("data-form-id", formId);
        history.replaceState(null, "", "/qa/forms/" + formId);
        status.textContent = L.version + " " + data.version + ".";
        return data;
      }, function (error) { status.textContent = L.failed + " " + error.message; throw error; });
    }
    root.querySelector("[data-save]").addEventListener("click", function () { save().catch(function () {}); });
    root.querySelector("[data-publish]").addEventListener("click", function () {
      save().then(function () { return call("POST", "/api/v1/qa/forms/" + formId + "/publish"); })
        .then(function (data) { status.textContent = L.version + " " + data.version + " ✓"; })
        .catch(function (error) { status.textContent = L.failed + " " + error.message; });
    });
  }

  // --- an evaluation -----------------------------------------------------------------------------
  function evaluation(root) {
    var L = JSON.parse(root.getAttribute("data-labels"));
    var id = root.getAttribute("data-id");
    var audio = root.querySelector("[data-audio]");
    var status = root.querySelector("[data-status]");
    var list = root.querySelector("[data-comments]");
    var timer = null;

    root.addEventListener("click", function (event) {
      var seek = event.target.closest("[data-seek]");
      if (seek && audio) { audio.currentTime = parseFloat(seek.getAttribute("data-seek")); audio.play().catch(function () {}); }
      var remove = event.target.closest("[data-remove-comment]");
      if (remove) { remove.closest("li").remove(); schedule(); }
    });

    function payload() {
      var answers = [];
      root.querySelectorAll("[data-question]").forEach(function (fs) {
        var checked = fs.querySelector("input:checked");
        if (!checked) { return; }
        var value = checked.value;
        if (fs.getAttribute("data-kind") === "scale" && value !== "na") { value = parseInt(value, 10); }
        answers.push({ question_id: fs.getAttribute("data-question"), value: value });
      });
      var comments = list ? Array.prototype.map.call(list.querySelectorAll("li"), function (li) {
        var at = li.getAttribute("data-at");
        return { at: at === "" ? null : parseFloat(at), text: li.querySelector("[data-text]").textContent };
      }) : [];
      return { answers: answers, comments: comments };
    }

    function save() {
      if (root.getAttribute("data-state") !== "draft") { return Promise.resolve(); }
      if (status) { status.textContent = L.saving; }
      return call("PUT", "/api/v1/qa/evaluations/" + id, payload()).then(function (data) {
        if (status) { status.textContent = L.saved + " " + new Date(data.saved_at).toLocaleTimeString(); }
      }, function (error) {
        if (status) { status.textContent = L.failed + " " + error.message; }
        throw error;
      });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(function () { save().catch(function () {}); }, 600);
    }

    root.querySelectorAll("[data-answers] input").forEach(function (input) {
      input.addEventListener("change", schedule);
    });

    var add = root.querySelector("[data-add-comment]");
    if (add) {
      add.addEventListener("click", function () {
        var box = root.querySelector("[data-new-comment]");
        var text = box.value.trim();
        if (!text) { return; }
        var anchored = root.querySelector("[data-anchor]").checked && audio;
        var at = anchored ? Math.round(audio.currentTime * 10) / 10 : null;
        var li = el("li", { "data-at": at === null ? "" : String(at) });
        if (at !== null) {
          li.appendChild(el("button", { type: "button", "class": "link-button", "data-seek": String(at), text: clock(at) }));
          li.appendChild(document.createTextNode(" "));
        }
        li.appendChild(el("span", { "data-text": "", text: text }));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(el("button", { type: "button", "class": "link-button", "data-remove-comment": "", text: L.remove }));
        list.appendChild(li);
        save().then(function () { box.value = ""; }, function () { li.remove(); });
      });
    }

    var submit = root.querySelector("[data-submit]");
    if (submit) {
      submit.addEventListener("click", function () {
        save().then(function () { return call("POST", "/api/v1/qa/evaluations/" + id + "/submit"); })
          .then(function () { window.location.reload(); })
          .catch(function (error) { status.textContent = L.failed + " " + error.message; });
      });
    }

    var feedback = root.querySelector("[data-feedback-status]");
    function act(url, body) {
      call("POST", url, body).then(function () { window.location.reload(); },
        function (error) { feedback.textContent = L.failed + " " + error.message; });
    }
    var ack = root.querySelector("[data-acknowledge]");
    if (ack) { ack.addEventListener("click", function () { act("/api/v1/qa/evaluations/" + id + "/acknowledge"); }); }
    var dispute = root.querySelector("[data-dispute]");
    if (dispute) {
      dispute.addEventListener("click", function () {
        act("/api/v1/qa/evaluations/" + id + "/dispute", { comment: root.querySelector("[data-dispute-text]").value });
      });
    }
    var answer = root.querySelector("[data-answer-dispute]");
    if (answer) {
      answer.addEventListener("click", function () {
        act("/api/v1/qa/evaluations/" + id + "/dispute/answer", { answer: root.querySelector("[data-answer-text]").value });
      });
    }
  }

  function calibrationReference() {
    document.querySelectorAll("[data-reference]").forEach(function (button) {
      button.addEventListener("click", function () {
        var url = "/api/v1/qa/calibrations/" + button.getAttribute("data-calibration") + "/reference";
        call("POST", url, { evaluation_id: button.getAttribute("data-reference") })
          .then(function () { window.location.reload(); }, function (error) {
            document.querySelector("[data-feedback-status]").textContent = error.message;
          });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-form-editor]").forEach(formEditor);
    document.querySelectorAll("[data-evaluation]").forEach(evaluation);
    calibrationReference();
  });
})();
