/* Live conversation over a websocket. Progressive enhancement: without this file the page is a
   form and a list (post, reload), and it stays that way whenever the socket is down. */
(function () {
  "use strict";
  var list = document.querySelector("[data-conversation]");
  var form = document.querySelector("form[data-chat-form]");
  if (!list || !form || !window.WebSocket) { return; }
  var live = document.querySelector("[data-live-region]");
  var textarea = form.querySelector("textarea");
  var fileInput = form.querySelector("input[type=file]");
  var socket = null;
  var unacknowledged = [];  // texts sent over the socket, not yet confirmed as stored
  var delay = 1000;
  var maxDelay = 30000;

  function lastId() {
    var items = list.querySelectorAll("[data-message-id]");
    return items.length ? items[items.length - 1].getAttribute("data-message-id") : "";
  }

  function insert(html, id) {
    if (document.getElementById("msg-" + id)) { return; }
    var empty = list.querySelector(".empty");
    if (empty) { empty.remove(); }
    var holder = document.createElement("ol");
    holder.innerHTML = html;  // rendered and escaped by the server
    var item = holder.firstElementChild;
    list.appendChild(item);
    if (live && item.classList.contains("msg-theirs")) {
      var body = item.querySelector(".msg-body");
      live.textContent = body ? body.textContent : "";
    } else if (live && item.classList.contains("msg-mine")) {
      live.textContent = list.getAttribute("data-sent-text") || "";
    }
  }

  function clearErrors() {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.remove(); }
    form.querySelectorAll(".field-error").forEach(function (field) {
      field.classList.remove("field-error");
      field.querySelectorAll(".error").forEach(function (error) { error.remove(); });
      field.querySelectorAll("[aria-invalid]").forEach(function (input) {
        input.removeAttribute("aria-invalid");
        var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
          return id && document.getElementById(id);
        });
        if (described.length) {
          input.setAttribute("aria-describedby", described.join(" "));
        } else {
          input.removeAttribute("aria-describedby");
        }
      });
    });
  }

  function markRead() {
    var text = list.getAttribute("data-read-text");
    list.querySelectorAll(".msg-mine .read-marker").forEach(function (marker) {
      marker.textContent = text;
    });
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + list.getAttribute("data-socket"));
    socket.addEventListener("open", function () {
      delay = 1000;
      // Catch up on whatever arrived while we were not connected.
      socket.send(JSON.stringify({ type: "catch_up", after: lastId() }));
    });
    socket.addEventListener("message", function (event) {
      var data = JSON.parse(event.data);
      if (data.type === "sent") {
        unacknowledged.shift();
        clearErrors();  // an earlier error no longer applies once a message went through
      }
      if (data.type === "message" || data.type === "sent") { insert(data.html, data.id); }
      if (data.type === "read") { markRead(); }
    });
    socket.addEventListener("close", function (event) {
      socket = null;
      if (unacknowledged.length) {
        // Never lose what was written: put it back; the form posts it the ordinary way.
        textarea.value = unacknowledged.concat(textarea.value ? [textarea.value] : []).join("\n\n");
        unacknowledged = [];
        textarea.focus();
      }
      if (event.code === 4403) { return; }  // refused or session over: the form still works
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, maxDelay);
    });
  }

  form.addEventListener("submit", function (event) {
    var hasFiles = fileInput && fileInput.files && fileInput.files.length > 0;
    if (!socket || socket.readyState !== WebSocket.OPEN || hasFiles || !textarea.value.trim()) {
      return;  // the normal form post
    }
    event.preventDefault();
    unacknowledged.push(textarea.value);
    socket.send(JSON.stringify({ type: "send", body: textarea.value }));
    textarea.value = "";
    textarea.focus();
  });

  connect();
})();
