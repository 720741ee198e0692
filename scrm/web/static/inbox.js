// The inbox's keyboard shortcuts and small comforts; every action also works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function typing(target) {
    return target && (target.closest("input, textarea, select, [contenteditable]") !== null);
  }

  function links() {
    return Array.prototype.slice.call(document.querySelectorAll("#conversation-list .conv-link"));
  }

  function move(step) {
    var all = links();
    if (all.length === 0) return;
    var focused = all.indexOf(document.activeElement);
    var current = all.findIndex(function (a) { return a.getAttribute("aria-current") === "page"; });
    var from = focused >= 0 ? focused : current;
    var to = Math.min(all.length - 1, Math.max(0, from + step));
    if (from < 0) to = step > 0 ? 0 : all.length - 1;
    if (document.querySelector("[data-conversation-view]") && focused < 0) {
      window.location.href = all[to].href;  // reading a conversation: j/k open the next or previous one
    } else {
      all[to].focus();
    }
  }

  function click(selector) {
    var element = document.querySelector(selector);
    if (element && !element.disabled) element.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    var keys = {
      j: function () { move(1); },
      k: function () { move(-1); },
      r: function () { var box = document.getElementById("reply-text"); if (box && !box.disabled) box.focus(); },
      e: function () { click("#resolve"); },
      "/": function () { var first = document.getElementById("filter-channel"); if (first) first.focus(); }
    };
    if (keys[event.key]) {
      event.preventDefault();
      keys[event.key]();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var filters = document.getElementById("inbox-filters");
    if (filters) filters.addEventListener("change", function () { filters.requestSubmit(); });
    var canned = document.getElementById("canned-pick");
    var box = document.getElementById("reply-text");
    if (canned && box) {
      // The server fills the variables ({contact.name}…); the saved text as is when it cannot be reached.
      var render = function (name, fallback, from, to) {
        var url = canned.getAttribute("data-render") + "?name=" + encodeURIComponent(name);
        return fetch(url, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : fallback; }, function () { return fallback; })
          .then(function (text) {
            if (text === null) return;
            box.value = box.value.slice(0, from) + text + box.value.slice(to);
            box.selectionStart = box.selectionEnd = from + text.length;
            box.focus();
          });
      };
      canned.addEventListener("change", function () {
        var option = canned.options[canned.selectedIndex];
        if (!canned.value || !option) return;
        var from = box.selectionStart || box.value.length;
        render(option.text.replace(/^\//, ""), canned.value, from, box.selectionEnd || from);
        canned.value = "";
      });
      box.addEventListener("keydown", function (event) {
        // `/shortcode` then Tab or Enter expands it; anything else (or an unknown shortcode) types as usual.
        if (event.key !== "Tab" && event.key !== "Enter") return;
        if (event.shiftKey || event.ctrlKey || event.metaKey || event.isComposing) return;
        var end = box.selectionStart;
        if (end !== box.selectionEnd) return;
        var typed = /(^|\s)\/([\p{L}\p{N}_-]{1,40})$/u.exec(box.value.slice(0, end));
        if (!typed) return;
        var known = Array.prototype.some.call(canned.options, function (o) {
          return o.text.toLowerCase() === "/" + typed[2].toLowerCase();
        });
        if (!known) return;
        event.preventDefault();
        render(typed[2], null, end - typed[2].length - 1, end);
      });
    }
    var thread = document.getElementById("thread");
    if (thread) {
      thread.scrollTop = thread.scrollHeight;
      var nearEnd = true;
      thread.addEventListener("htmx:beforeSwap", function () {
        nearEnd = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 80;
      });
      thread.addEventListener("htmx:afterSwap", function () {
        if (nearEnd) thread.scrollTop = thread.scrollHeight;  // follow new messages unless reading older ones
      });
    }
    document.querySelectorAll("form").forEach(function (form) {
      form.addEventListener("submit", function () {
        // One click, one request: the idempotency key makes a second one harmless, this makes it rare.
        form.querySelectorAll("button[type=submit]").forEach(function (b) { setTimeout(function () { b.disabled = true; }, 0); });
      });
    });
  });
})();
