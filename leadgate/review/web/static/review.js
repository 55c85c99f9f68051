// leadgate review queue: keyboard shortcuts and small conveniences. No inline script anywhere (CSP).
(function () {
  "use strict";
  function typing(target) {
    var tag = (target && target.tagName) || "";
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  function go(id) {
    var link = document.getElementById(id);
    if (link) { window.location.assign(link.getAttribute("href")); }
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.item-row"));
  var current = -1;
  function mark(index) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, n) { row.classList.toggle("current", n === current); });
    rows[current].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key;
    if (rows.length) {
      if (key === "j") { mark(current + 1); event.preventDefault(); }
      else if (key === "k") { mark(current - 1); event.preventDefault(); }
      else if (key === "Enter" && current >= 0) { window.location.assign(rows[current].getAttribute("data-href")); }
      else if (key === "x" && current >= 0) {
        var box = rows[current].querySelector("input[type=checkbox]");
        if (box) { box.checked = !box.checked; }
      }
      return;
    }
    if (key === "j") { go("next-item"); }
    else if (key === "k") { go("prev-item"); }
    else if (key === "a") {
      var approve = document.getElementById("approve");
      if (approve) { event.preventDefault(); approve.click(); }
    } else if (key === "r") {
      var reason = document.getElementById("reject-reason");
      if (reason) { event.preventDefault(); reason.focus(); }
    } else if (key === "c") {
      var draft = document.getElementById("clarify-draft");
      if (draft) { event.preventDefault(); draft.focus(); }
    }
  });
})();
