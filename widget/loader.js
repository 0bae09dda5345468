// Latchkey's widget loader, served as {public_url}/widget.js:
//   <div id="latchkey"></div>
//   <script src="{public_url}/widget.js" data-publishable-key="pk_…" async></script>
// It checks the publishable key against the host it was served from, then loads the widget
// (a small WASM module) and mounts it into #latchkey, or the element named by data-mount.
(function () {
  "use strict";
  var script = document.currentScript ||
    document.querySelector('script[src*="/widget.js"][data-publishable-key]');
  function fail(message) { console.error("Latchkey widget: " + message); }
  if (!script) { return fail("cannot find its own <script> tag."); }
  var base = new URL(script.src).origin;
  var key = script.getAttribute("data-publishable-key") || "";
  var match = /^pk_(test|live)_([A-Za-z0-9+/=]+)$/.exec(key);
  if (!match) {
    return fail('data-publishable-key must be this instance\'s publishable key ("pk_test_…" or "pk_live_…"); it is "' + key + '".');
  }
  var host;
  try { host = atob(match[2]); } catch (e) { return fail("the publishable key is not valid base64."); }
  if (host.slice(-1) !== "$" || host.slice(0, -1) !== new URL(script.src).host) {
    return fail("the publishable key belongs to " + host.slice(0, -1) + ", but widget.js was loaded from " +
      new URL(script.src).host + ". Copy the key from this instance's dashboard (API keys).");
  }
  function start() {
    var id = script.getAttribute("data-mount") || "latchkey";
    var element = document.getElementById(id);
    if (!element) { return fail('no element with id "' + id + '" to mount into.'); }
    import(base + "/widget/latchkey_widget.js")
      .then(function (module) { return module.default({ module_or_path: base + "/widget/latchkey_widget_bg.wasm" }).then(function () { return module; }); })
      .then(function (module) { module.mount(element, base); })
      .catch(function (error) { fail("could not load: " + error); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
