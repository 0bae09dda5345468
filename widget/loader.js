// Latchkey's widget loader, served as {public_url}/widget.js:
//   <div id="latchkey"></div>
//   <script src="{public_url}/widget.js" data-publishable-key="pk_…" async></script>
// It checks the publishable key against the host it was served from, then loads the widget
// (a small WASM module) and mounts it into #latchkey, or the element named by data-mount.
// While someone is signed in it keeps a fresh session token (a JWT) for the page's own
// servers: window.Latchkey.getToken() and the latchkey_token cookie on this page's origin.
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
  // ----- the session token, kept fresh on this origin ---------------------------------------
  var token = null, freshUntil = 0, pending = null, timer = 0;
  function writeCookie(value, seconds) {
    document.cookie = "latchkey_token=" + value + "; Path=/; SameSite=Lax; Max-Age=" + seconds +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  function forget() {
    clearTimeout(timer);
    token = null; freshUntil = 0;
    writeCookie("", 0);
  }
  function lifetimeOf(jwt) {
    // exp - iat from the token itself: this browser's clock need not agree with the server's.
    try {
      var claims = JSON.parse(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return Math.max(1, claims.exp - claims.iat);
    } catch (e) { return 10; }
  }
  function refresh() {
    if (pending) { return pending; }
    pending = fetch(base + "/v1/me/token", { method: "POST", credentials: "include" })
      .then(function (response) {
        if (response.status === 401) { forget(); return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json().then(function (body) {
          var lifetime = lifetimeOf(body.jwt);
          token = body.jwt;
          freshUntil = Date.now() + lifetime * 1000;
          writeCookie(token, lifetime);
          clearTimeout(timer);
          // Renewed at four fifths of its life while the page is shown; a hidden tab lets it
          // lapse and renews when it is shown again.
          timer = setTimeout(function () {
            if (document.visibilityState === "visible") { refresh(); }
          }, lifetime * 800);
          return token;
        });
      })
      .catch(function (error) { fail("could not renew the session token: " + error.message); return null; })
      .then(function (result) { pending = null; return result; });
    return pending;
  }
  function fresh() { return token !== null && Date.now() < freshUntil - 2000; }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && token !== null && !fresh()) { refresh(); }
  });
  var signedIn = null;
  window.Latchkey = {
    // A promise of a fresh session token, or null when nobody is signed in.
    getToken: function () {
      if (fresh()) { return Promise.resolve(token); }
      if (signedIn === false) { return Promise.resolve(null); }
      return refresh();
    }
  };
  function onChange(isSignedIn) {
    signedIn = isSignedIn;
    if (isSignedIn) { if (!fresh()) { refresh(); } } else { forget(); }
  }

  function start() {
    var id = script.getAttribute("data-mount") || "latchkey";
    var element = document.getElementById(id);
    if (!element) { return fail('no element with id "' + id + '" to mount into.'); }
    import(base + "/widget/latchkey_widget.js")
      .then(function (module) { return module.default({ module_or_path: base + "/widget/latchkey_widget_bg.wasm" }).then(function () { return module; }); })
      .then(function (module) { module.mount(element, base, onChange); })
      .catch(function (error) { fail("could not load: " + error); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
