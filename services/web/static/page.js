// Small helps that need no server: the timeline's filters apply as soon as one changes (the
// Filter button does the same without JavaScript), and a link to an event inside a closed
// panel (the audit list) opens that panel.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.id === "filters") {
      form.submit();
    }
  });

  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) { return; }
    for (var node = target.parentElement; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
    target.scrollIntoView();
    target.classList.add("fresh");
  }
  window.addEventListener("hashchange", reveal);
  reveal();
})();
