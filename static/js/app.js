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
});
document.addEventListener("htmx:sendError", function () {
  var area = document.getElementById("flash-area");
  if (area) area.innerHTML = '<div class="alert alert-danger" role="alert">无法连接服务器，请检查网络后重试。</div>';
});

// <select data-autosubmit> submits its form on change (inline handlers are barred by the CSP).
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-autosubmit]")) event.target.form.requestSubmit();
});
