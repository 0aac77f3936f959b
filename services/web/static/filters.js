// The timeline's filters apply as soon as one changes (the Filter button does the same
// without JavaScript).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.id === "filters") {
      form.submit();
    }
  });
})();
