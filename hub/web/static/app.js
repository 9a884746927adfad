// Small progressive enhancement; every page works without it.
(function () {
  "use strict";

  // Reconciliation review: "c" confirms, "r" rejects (not while typing in a field).
  document.addEventListener("keydown", function (event) {
    if (!document.getElementById("review") || event.ctrlKey || event.metaKey || event.altKey) return;
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select") return;
    var form = event.key === "c" ? "confirm-form" : event.key === "r" ? "reject-form" : null;
    if (form) {
      event.preventDefault();
      document.getElementById(form).submit();
    }
  });

  // A running run's page refreshes its body every two seconds until the run ends.
  var live = document.querySelector("[data-live]");
  if (live) {
    var timer = setInterval(function () {
      fetch(live.getAttribute("data-live"), { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          live.innerHTML = html;
          if (!/status (running|queued)/.test(html)) clearInterval(timer);
        });
    }, 2000);
  }

  // The cron field explains itself in words as it is typed.
  var cron = document.querySelector("[data-describe]");
  if (cron) {
    var out = document.getElementById(cron.getAttribute("data-describe"));
    cron.addEventListener("input", function () {
      fetch("/describe?cron=" + encodeURIComponent(cron.value), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (d) { out.textContent = d.text; });
    });
  }
})();
