// Filters the list of CCAM acts as the user types (code or words of the label).
(function () {
  "use strict";
  var filter = document.getElementById("ccam-filter");
  var list = document.getElementById("ccam-acts");
  if (!filter || !list) { return; }
  function apply() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var items = list.querySelectorAll("li");
    for (var i = 0; i < items.length; i++) {
      var text = items[i].getAttribute("data-search") || "";
      var checked = items[i].querySelector("input").checked;
      var shown = checked || words.every(function (w) { return text.indexOf(w) >= 0; });
      items[i].hidden = !shown;
    }
  }
  filter.addEventListener("input", apply);
  apply();
})();
