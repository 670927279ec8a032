// Live reload for `build-site serve` (loaded only by pages it builds). It waits for the next
// build with a long poll; when that build changed this page (or an image or stylesheet), the
// page reloads; when it failed, its error is shown over the page until a build succeeds.
(function () {
  "use strict";
  if (!/^https?:$/.test(location.protocol)) return; // opened from disk: no server to ask
  var script = document.currentScript;
  var base = script ? script.src.replace(/reload\.js(\?.*)?$/, "") : "/__litblog__/";
  var page = decodeURIComponent(location.pathname).replace(/^\//, "");
  if (page === "" || /\/$/.test(page)) page += "index.html";
  var errorPage = document.body && document.body.hasAttribute("data-litblog-error");
  var version = null;
  var retry = 500;

  function showError(text) {
    var box = document.getElementById("litblog-build-error");
    if (!text) {
      if (box) box.remove();
      return;
    }
    if (!box) {
      box = document.createElement("pre");
      box.id = "litblog-build-error";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;top:0;left:0;right:0;z-index:1000;margin:0;padding:0.8rem 1rem;" +
        "max-height:50vh;overflow:auto;white-space:pre-wrap;background:#ffebe9;color:#82071e;" +
        "border-bottom:2px solid #cf222e;font:14px/1.45 ui-monospace,monospace";
      document.body.appendChild(box);
    }
    box.textContent = "build-site serve: the last build failed; this page is the previous version.\n\n" + text;
  }

  function changed(state) {
    if (state.error) return false;
    return errorPage || state.pages === null || state.pages.indexOf(page) >= 0;
  }

  function poll() {
    var url = base + "wait" + (version === null ? "" : "?version=" + version);
    fetch(url, { cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (state) {
        retry = 500;
        if (version !== null && state.version !== version && changed(state)) {
          location.reload();
          return;
        }
        showError(state.error);
        version = state.version;
        poll();
      })
      .catch(function () {
        // The server restarts or is gone: ask again, less and less often.
        setTimeout(poll, retry);
        retry = Math.min(retry * 2, 5000);
      });
  }

  poll();
})();
