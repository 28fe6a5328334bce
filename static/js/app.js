// Small glue around htmx: show refusals from the server where the user looks, keep buttons honest.
document.addEventListener("htmx:responseError", function (event) {
  // The server answers errors with an alert fragment in Chinese; show it above the content.
  var area = document.getElementById("flash-area");
  var xhr = event.detail.xhr;
  if (area && xhr && xhr.responseText && xhr.responseText.indexOf("alert") !== -1) {
    area.innerHTML = xhr.responseText;
  } else if (area) {
    area.innerHTML = '<div class="alert alert-danger" role="alert">操作失败（' + (xhr ? xhr.status : "网络错误") + '），请刷新页面后重试。</div>';
  }
  // The form that was sent may be far down the page: bring the refusal into view (the form stays as it was).
  if (area) area.scrollIntoView({block: "start"});
});
document.addEventListener("htmx:sendError", function () {
  var area = document.getElementById("flash-area");
  if (area) area.innerHTML = '<div class="alert alert-danger" role="alert">无法连接服务器，请检查网络后重试。</div>';
});

// <select data-autosubmit> submits its form on change (inline handlers are barred by the CSP).
// <input type="checkbox" data-check-all> ticks or clears every item of its form: the rows of the page shown; it
// shows itself ticked, clear or half (indeterminate) as the rows are ticked by hand.
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
  var form = event.target.form;
  if (!form) return;
  var boxes = form.querySelectorAll('input[name="item_ids"]');
  if (event.target.matches("input[data-check-all]")) {
    var checked = event.target.checked;
    boxes.forEach(function (box) { box.checked = checked; });
  } else if (event.target.matches('input[name="item_ids"]')) {
    var all = form.querySelector("input[data-check-all]");
    if (!all) return;
    var ticked = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
    all.checked = ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }
});

// <form data-busy="正在…"> whose answer takes seconds (the zone's approval renders the batch's PDF sheet): once
// sent, its button says so and cannot send it a second time.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!form.matches("form[data-busy]") || event.defaultPrevented) return;
  var button = form.querySelector('button[type="submit"]');
  if (!button) return;
  setTimeout(function () {
    button.dataset.label = button.textContent;
    button.disabled = true;
    button.textContent = form.dataset.busy;
  }, 0);
});
// Back to the page (the back button, whether the browser kept the page or restored its form state): its sent
// buttons work again.
window.addEventListener("pageshow", function () {
  document.querySelectorAll('form[data-busy] button[type="submit"]').forEach(function (button) {
    button.disabled = false;
    if (button.dataset.label) button.textContent = button.dataset.label;
  });
});

// A table too wide for the screen (or too long for a capped height) scrolls inside its .table-responsive wrapper. Keyboard users can only
// scroll what they can focus, so a wrapper that scrolls joins the tab order as a named region; one that
// fits (the same table on a wider screen) stays out of it.
function markScrollingTables() {
  document.querySelectorAll(".table-responsive").forEach(function (box) {
    if (box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1) {
      var caption = box.querySelector("caption");
      box.tabIndex = 0;
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", (caption ? caption.textContent.trim() : "表格") + "（可滚动）");
    } else if (box.hasAttribute("tabindex")) {
      box.removeAttribute("tabindex");
      box.removeAttribute("role");
      box.removeAttribute("aria-label");
    }
  });
}
document.addEventListener("DOMContentLoaded", markScrollingTables);
document.addEventListener("htmx:afterSettle", markScrollingTables);
window.addEventListener("resize", markScrollingTables);
