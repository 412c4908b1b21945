/* Progressive enhancement for reporter pages. Everything works without this file. */
(function () {
  "use strict";

  // Copy the receipt code.
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var text = Array.prototype.map.call(source.querySelectorAll(".group"), function (g) {
        return g.textContent;
      }).join("-");
      var status = button.parentNode.querySelector(".copy-status");
      navigator.clipboard.writeText(text).then(function () {
        status.textContent = button.getAttribute("data-done") || "✓";
      });
    });
  });

  // Warn before leaving the receipt page without confirming.
  var guard = document.querySelector("form[data-leave-guard]");
  if (guard) {
    var confirmed = false;
    guard.addEventListener("submit", function () { confirmed = true; });
    window.addEventListener("beforeunload", function (event) {
      if (!confirmed) { event.preventDefault(); event.returnValue = ""; }
    });
  }

  // Show conditional questions only when their condition holds (checked again on the server).
  var rules = document.getElementById("conditions");
  if (rules) {
    var conditions = JSON.parse(rules.textContent);
    var form = document.querySelector("form[data-conditions]");
    var valuesOf = function (name) {
      return Array.prototype.filter.call(form.elements, function (el) {
        return el.name === name && (el.type === "radio" || el.type === "checkbox" ? el.checked : true);
      }).map(function (el) { return el.type === "checkbox" && !el.value ? "true" : el.value; });
    };
    var update = function () {
      Object.keys(conditions).forEach(function (question) {
        var rule = conditions[question];
        var wrapper = form.querySelector("[data-question='" + question + "']");
        if (!wrapper) { return; }
        var given = valuesOf(rule.question);
        var show = given.some(function (v) { return rule.values.indexOf(v) !== -1; });
        wrapper.hidden = !show;
        var help = wrapper.querySelector(".condition-help");
        if (help) { help.hidden = true; }
      });
    };
    form.addEventListener("change", update);
    update();
  }

  // Contact details: the fields show only while "give contact details" is chosen (the server
  // ignores them otherwise, so without this file nothing is lost, only shown).
  var contact = document.querySelector("[data-contact-fields]");
  if (contact && contact.form) {
    var modes = contact.form.querySelectorAll("input[name=mode]");
    var showContact = function () {
      var chosen = Array.prototype.filter.call(modes, function (el) { return el.checked; });
      contact.hidden = !(chosen.length && chosen[0].value === "contact");
    };
    Array.prototype.forEach.call(modes, function (el) { el.addEventListener("change", showContact); });
    showContact();
  }

  // Tell the reporter before the mailbox session ends for inactivity.
  var idle = document.querySelector("[data-idle-minutes]");
  if (idle) {
    var minutes = parseInt(idle.getAttribute("data-idle-minutes"), 10);
    var warning = document.querySelector(".idle-warning");
    if (warning && minutes > 2) {
      window.setTimeout(function () { warning.hidden = false; }, (minutes - 2) * 60 * 1000);
    }
  }
})();

/* Proof of work before sending a report (intake/flood.py): solved in a worker while the
 * reporter reads the check page; the send button waits for it. Without a worker or WebCrypto
 * the form is sent as it is and the server applies the minimum draft age instead. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-pow-worker]");
  if (!form || !window.Worker || !window.crypto || !window.crypto.subtle) { return; }
  var challenge = form.elements.pow_challenge.value;
  var answer = form.elements.pow_counter;
  var status = form.querySelector(".pow-status");
  var bar = status.querySelector("progress");
  var note = status.querySelector("[role=status]");
  var solved = false;
  var sendWhenSolved = false;
  var worker;
  try {
    worker = new Worker(form.getAttribute("data-pow-worker"));
  } catch (error) {
    return;
  }
  status.hidden = false;
  note.textContent = note.getAttribute("data-working");
  worker.onmessage = function (event) {
    if (event.data.failed) {
      solved = true; // the server falls back to the draft age
      status.hidden = true;
      if (sendWhenSolved) { form.submit(); }
      return;
    }
    if (!event.data.done) {
      bar.value = Math.round(event.data.progress * 100);
      return;
    }
    answer.value = event.data.counter;
    solved = true;
    bar.value = 100;
    note.textContent = note.getAttribute("data-done");
    form.setAttribute("data-pow-solved", "");
    worker.terminate();
    if (sendWhenSolved) { form.submit(); }
  };
  worker.onerror = function () {
    solved = true;
    status.hidden = true;
    if (sendWhenSolved) { form.submit(); }
  };
  form.addEventListener("submit", function (event) {
    if (solved) { return; }
    event.preventDefault();
    sendWhenSolved = true;
    note.textContent = note.getAttribute("data-waiting");
  });
  worker.postMessage({ challenge: challenge, bits: parseInt(challenge.split(".")[3], 10) });
})();
