// Live updates: follow /v1/subscribe for this negotiation (through /n/{id}/live, which adds
// the session's key), then fetch the sections rendered again by the server and replace the
// ones that changed; a notice says what changed.
(function () {
  "use strict";
  var script = document.currentScript;
  var id = script.dataset.negotiation;
  var position = Number(script.dataset.position || 0);
  var filters = script.dataset.filters || "";
  var notice = document.getElementById("notice");
  var pending = false;
  var again = false;

  function show(lines, changed) {
    if (!lines.length && !changed.length) { return; }
    var text = lines.length ? "New: " + lines.join("; ") : "Updated";
    if (changed.length) { text += " (changed: " + changed.join(", ") + ")"; }
    notice.textContent = text;
    notice.hidden = false;
  }

  function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    fetch("/n/" + encodeURIComponent(id) + "/parts?after=" + position + "&" + filters,
          { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("parts: " + response.status); }
        return response.json();
      })
      .then(function (body) {
        var changed = [];
        Object.keys(body.sections).forEach(function (name) {
          var box = document.querySelector('[data-part="' + name + '"]');
          if (box && box.dataset.digest !== body.digests[name]) {
            var open = Array.prototype.map.call(box.querySelectorAll("details[open]"), function (d) {
              return d.closest("[id]") ? d.closest("[id]").id : null;
            });
            box.innerHTML = body.sections[name];
            box.dataset.digest = body.digests[name];
            open.forEach(function (where) {
              var el = where && document.getElementById(where);
              var d = el && el.querySelector("details");
              if (d) { d.open = true; }
            });
            changed.push(name);
          }
        });
        show(body.news, changed);
        if (typeof body.position === "number") { position = body.position; }
        document.documentElement.dataset.livePosition = String(position);
      })
      .catch(function (error) { console.warn(error); })
      .finally(function () {
        pending = false;
        if (again) { again = false; refresh(); }
      });
  }

  if (!window.EventSource) { return; }
  var source = new EventSource("/n/" + encodeURIComponent(id) + "/live");
  source.addEventListener("change", function (event) {
    var data = JSON.parse(event.data);
    if (data.projection === "negotiation" && data.position > position) { refresh(); }
  });
  source.addEventListener("open", function () {
    document.documentElement.dataset.live = "open";
  });
})();
