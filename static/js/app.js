// Small glue around htmx: show refusals from the server where the user looks, keep buttons honest.
// Styles that need this script (the file pickers' own button) hang on this class.
document.documentElement.classList.add("js");
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

// <form data-busy="正在…"> whose answer may take a moment (the zone's decision on a batch): once sent, its button
// says so and cannot send it a second time.
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

// Errors where the user is. After a refused form (a full page after a POST, or a card swapped in by htmx) the
// page scrolls to the first error and focuses it: the error summary when the form has one, else the first invalid
// field, else a refusal shown beside a button. A form with errors on several fields gets a summary at its top
// linking to each, unless the server already wrote one.
function errorSummaryOf(form) {
  var invalid = Array.prototype.filter.call(form.querySelectorAll(".is-invalid, [aria-invalid=true]"), function (el) {
    return el.id && el.type !== "hidden";
  });
  if (invalid.length < 2 || form.querySelector(".error-summary")) return form.querySelector(".error-summary");
  var box = document.createElement("div");
  box.className = "alert alert-danger error-summary";
  box.setAttribute("role", "alert");
  box.tabIndex = -1;
  var title = document.createElement("p");
  title.className = "mb-1";
  title.textContent = "有 " + invalid.length + " 处需要修改：";
  var list = document.createElement("ul");
  list.className = "mb-0";
  invalid.forEach(function (el) {
    var label = form.querySelector('label[for="' + el.id + '"]');
    var feedback = el.parentElement.querySelector(".invalid-feedback");
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.href = "#" + el.id;
    link.textContent = (label ? label.textContent.replace(/\s*\*\s*$/, "").trim() + "：" : "") +
      (feedback ? feedback.textContent.trim() : "请检查");
    item.appendChild(link);
    list.appendChild(item);
  });
  box.appendChild(title);
  box.appendChild(list);
  form.insertBefore(box, form.firstChild);
  return box;
}
function showFirstError(root) {
  var first = null;
  root.querySelectorAll("form").forEach(function (form) {
    var summary = errorSummaryOf(form);
    if (!first && summary) first = summary;
  });
  first = first || root.querySelector(".error-summary, .is-invalid, [aria-invalid=true], .refusal, .invalid-feedback.d-block");
  if (!first) return;
  if (!first.matches("input, select, textarea, a, button") && !first.hasAttribute("tabindex")) first.tabIndex = -1;
  first.scrollIntoView({block: "center"});
  first.focus({preventScroll: true});
}
// A link of the summary focuses its field (the browser only scrolls to it).
document.addEventListener("click", function (event) {
  var link = event.target.closest(".error-summary a[href^='#']");
  if (!link) return;
  var field = document.getElementById(link.getAttribute("href").slice(1));
  if (!field) return;
  event.preventDefault();
  field.scrollIntoView({block: "center"});
  field.focus({preventScroll: true});
});
var errorsShown = false;  // htmx-fallback.js may fire DOMContentLoaded a second time
document.addEventListener("DOMContentLoaded", function () {
  if (errorsShown) return;
  errorsShown = true;
  showFirstError(document);
});
document.addEventListener("htmx:afterSettle", function (event) {
  var xhr = event.detail.xhr;
  if (xhr && xhr.status === 422 && event.detail.elt) showFirstError(event.detail.elt.isConnected ? event.detail.elt : document);
});

// A saved form whose part htmx swapped (the card's fund panel) took the focused button with it: the focus goes to the
// part's message ([data-take-focus]), where the user is, rather than back to the top of the page.
document.addEventListener("htmx:afterSettle", function (event) {
  var xhr = event.detail.xhr;
  if (!xhr || xhr.status !== 200) return;
  var message = document.querySelector("[data-take-focus]");
  if (!message) return;
  message.removeAttribute("data-take-focus");
  message.focus({preventScroll: true});
});

// The app's own messages, in Chinese, for every form: the browser's "Please fill out this field" never shows.
function noNativeValidation(root) {
  root.querySelectorAll("form:not([novalidate])").forEach(function (form) { form.noValidate = true; });
}
document.addEventListener("DOMContentLoaded", function () { noNativeValidation(document); });
document.addEventListener("htmx:afterSettle", function (event) { noNativeValidation(event.detail.elt.parentElement || document); });

// The member list of the application form grows to the declared counts (正式 + 预备) with blank rows, and gives up
// its trailing blank rows when the counts go down (a filled row is never dropped: the user deletes it). New rows
// take the category still missing. Each row has its delete button.
var memberSeq = 0;
function memberRows() { return document.querySelectorAll("#member-rows .member-row"); }
function rowIsBlank(row) {
  return Array.prototype.every.call(row.querySelectorAll("input"), function (input) { return !input.value.trim(); });
}
function showRowButtons(root) {
  root.querySelectorAll("[data-remove-row][hidden]").forEach(function (button) { button.hidden = false; });
}
function fitMemberRows() {
  var template = document.getElementById("member-row-template");
  var formal = document.getElementById("formal_members");
  var probationary = document.getElementById("probationary_members");
  if (!template || !formal || !probationary) return;
  var wanted = (parseInt(formal.value, 10) || 0) + (parseInt(probationary.value, 10) || 0);
  if (wanted > 200) return;  // a typo, not a list to draw
  var body = document.getElementById("member-rows");
  var rows = memberRows();
  for (var i = rows.length - 1; i >= wanted && rows.length > wanted; i--) {
    if (rowIsBlank(rows[i])) { rows[i].remove(); rows = memberRows(); }
  }
  while (memberRows().length < wanted) {
    var formalRows = Array.prototype.filter.call(memberRows(), function (row) {
      return row.querySelector('select[name="member_status"]').value === "formal";
    }).length;
    var html = template.innerHTML.replace(/__INDEX__/g, "js" + (++memberSeq));
    body.insertAdjacentHTML("beforeend", html);
    var added = body.lastElementChild;
    added.querySelector('select[name="member_status"]').value = formalRows < (parseInt(formal.value, 10) || 0) ? "formal" : "probationary";
    showRowButtons(added);
  }
}
document.addEventListener("DOMContentLoaded", function () {
  showRowButtons(document);
  if (document.getElementById("member-row-template")) fitMemberRows();
});
document.addEventListener("htmx:afterSettle", function (event) { showRowButtons(event.detail.elt.parentElement || document); });
document.addEventListener("input", function (event) {
  if (event.target.id === "formal_members" || event.target.id === "probationary_members") fitMemberRows();
});
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-remove-row]");
  if (!button) return;
  var row = button.closest(".member-row");
  var next = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  // Focus stays in the list: on the next row's name, or the add button when the list is empty.
  var target = next ? next.querySelector("input") : document.querySelector("[hx-get$=\"member-row\"]");
  if (target) target.focus();
});

// One action panel open at a time on the card. The panels share a <details name>, which modern browsers keep
// exclusive themselves; this covers the others.
document.addEventListener("toggle", function (event) {
  var opened = event.target;
  if (!opened.matches || !opened.matches("details[name='card-action']") || !opened.open) return;
  document.querySelectorAll("details[name='card-action'][open]").forEach(function (other) {
    if (other !== opened) other.open = false;
  });
}, true);
// A fresh card may come with a panel open (the refused one). The old card's open panel, still in the page while the
// new one goes in, would close it (they share the name): close the old ones first. Any exclusive group's (the
// application card's, the record's 班子调整 and 换届 panels).
document.addEventListener("htmx:beforeSwap", function (event) {
  var target = event.detail.target;
  if (event.detail.shouldSwap && target && target.querySelectorAll) {
    target.querySelectorAll("details[name][open]").forEach(function (d) { d.open = false; });
  }
});

// The over-capacity reason of the approval panel (<select data-capacity-reason="id of its group">) is asked for only
// while the chosen instructor is full (its <option data-full>). Hidden, it is also disabled, so a reason typed for a
// full instructor is kept on the page but not sent with another one. Without JavaScript it always shows, with a hint.
function fitCapacityReason(select) {
  var group = document.getElementById(select.dataset.capacityReason);
  if (!group) return;
  var option = select.options[select.selectedIndex];
  group.hidden = !(option && option.hasAttribute("data-full"));
  group.querySelectorAll("textarea").forEach(function (field) { field.disabled = group.hidden; });
}
function fitCapacityReasons(root) { root.querySelectorAll("select[data-capacity-reason]").forEach(fitCapacityReason); }
document.addEventListener("DOMContentLoaded", function () { fitCapacityReasons(document); });
document.addEventListener("htmx:afterSettle", function (event) { fitCapacityReasons(event.detail.elt.parentElement || document); });
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-capacity-reason]")) fitCapacityReason(event.target);
});

// The file pickers (_macros.html file_input) name the chosen files in Chinese, whatever the browser's language.
function showChosenFiles(input) {
  var status = document.getElementById(input.id + "-chosen");
  if (!status) return;
  var names = Array.prototype.map.call(input.files || [], function (file) { return file.name; });
  status.textContent = names.length === 0 ? "未选择文件"
    : names.length === 1 ? "已选择：" + names[0] : "已选择 " + names.length + " 个文件：" + names.join("、");
}
document.addEventListener("change", function (event) {
  if (event.target.matches("input.file-picker-input")) showChosenFiles(event.target);
});
// A page restored by the back button may come back with its files cleared (or, in some browsers, kept).
window.addEventListener("pageshow", function () {
  document.querySelectorAll("input.file-picker-input").forEach(showChosenFiles);
});

// A notice's link may point at an action panel of the card (#step-report_election): open it, and bring it into
// view, rather than land on its closed summary.
function openTargetPanel() {
  var id;
  try {
    id = decodeURIComponent(location.hash.slice(1));
  } catch (malformed) {  // a hand-typed or cut-off link (#%E0%A4): nothing to open
    return;
  }
  var target = id && document.getElementById(id);
  if (!target || target.tagName !== "DETAILS") return;
  target.open = true;
  // The card's panels are display: contents (no box of their own to scroll to): their summary has one.
  (target.querySelector("summary") || target).scrollIntoView({block: "start", behavior: "instant"});
}
document.addEventListener("DOMContentLoaded", openTargetPanel);
window.addEventListener("hashchange", openTargetPanel);
