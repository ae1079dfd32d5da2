// The review page's only script: the reviewer's name goes with every decision, and a poll of
// /api/items shows items decided elsewhere (another reviewer, the CLI, the policy, expiry).
(function () {
  "use strict";
  var body = document.body;
  var pollMs = parseInt(body.dataset.pollMs || "2000", 10);
  var live = document.getElementById("live");
  var reviewer = document.getElementById("reviewer");

  document.querySelectorAll("form.decide").forEach(function (form) {
    form.addEventListener("submit", function () {
      var field = form.querySelector("input[name=reviewer]");
      if (field && reviewer && reviewer.value.trim()) field.value = reviewer.value.trim();
    });
  });

  function say(text) {
    live.hidden = false;
    var line = document.createElement("div");
    line.textContent = text;
    live.appendChild(line);
  }

  function decidedText(item) {
    var text = "item " + item.id + " was " + item.state;
    if (item.decided_by) text += " by " + item.decided_by;
    if (item.decided_at) text += " at " + item.decided_at;
    if (item.reason && !item.auto) text += ": " + item.reason;
    return text;
  }

  function getJson(url, then) {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) then(data); })
      .catch(function () { /* the server stopped: keep the page as it is */ });
  }

  var told = {};

  function pollList() {
    getJson("/api/items", function (data) {
      var known = {};
      data.items.forEach(function (item) {
        known[item.id] = true;
        var row = document.querySelector("tr[data-id='" + item.id + "']");
        if (!row || row.dataset.state === item.state) return;
        row.dataset.state = item.state;
        row.className = "decided-elsewhere";
        var cell = row.querySelector(".state");
        cell.className = "state state-" + item.state;
        cell.textContent = item.state + (item.decided_by ? " by " + item.decided_by : "");
        say(decidedText(item) + " (decided elsewhere)");
      });
      var fresh = data.items.filter(function (item) {
        return item.state === "pending" && !document.querySelector("tr[data-id='" + item.id + "']");
      });
      if (fresh.length && !told.fresh) {
        told.fresh = true;
        say(fresh.length + " new pending item(s): reload to see them");
      }
    });
  }

  function pollItem() {
    getJson("/api/items/" + body.dataset.item, function (item) {
      if (item.state === body.dataset.state) return;
      body.dataset.state = item.state;
      var badge = document.getElementById("item-state");
      if (badge) { badge.textContent = item.state; badge.className = "state state-" + item.state; }
      document.querySelectorAll("#actions button, #actions input, #actions textarea")
        .forEach(function (el) { el.disabled = true; });
      say(decidedText(item) + " (decided elsewhere)");
    });
  }

  var poll = body.dataset.page === "list" ? pollList : body.dataset.page === "item" ? pollItem : null;
  if (poll) setInterval(poll, pollMs);
})();
