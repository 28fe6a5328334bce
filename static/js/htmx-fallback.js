// Loaded right after the CDN tag: if the CDN could not be reached (an intranet), load our own copy.
if (!window.htmx) {
  document.write('<script src="' + document.currentScript.dataset.local + '"><\/script>');
}
