// Runs right after the CDN's htmx tag, which is async so that a CDN that never answers (an intranet that drops
// the packets) cannot hold the page. If the CDN fails, or has not delivered within a second, load our own copy.
(function () {
  var local = document.currentScript.dataset.local;
  var cdn = document.getElementById("htmx-cdn");
  var contentLoaded = false;
  var fallback = false;
  document.addEventListener("DOMContentLoaded", function () { contentLoaded = true; });
  // htmx 2 starts on DOMContentLoaded, or at once if readyState is "complete". An async copy can run in between
  // (the event gone, the page still loading: a CDN request still pending holds it there), and htmx would wait
  // for an event that already fired. Fire it once more; the page's other listeners for it may run twice.
  function started() {
    if (contentLoaded && document.readyState !== "complete") document.dispatchEvent(new Event("DOMContentLoaded"));
  }
  function loadLocal() {
    if (fallback || window.htmx) return;
    fallback = true;
    var script = document.createElement("script");
    script.src = local;
    script.addEventListener("load", started);
    document.head.appendChild(script);
  }
  if (cdn) {
    cdn.addEventListener("error", loadLocal);
    cdn.addEventListener("load", function () { if (!fallback) started(); });
  }
  setTimeout(loadLocal, 1000);
})();
