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
  var mountId = script.getAttribute("data-mount") || "latchkey";
  function whenReady(then) {
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", then); } else { then(); }
  }
  // A short sentence in the widget's place, for whoever looks at the page (the console says why).
  function notice(text) {
    whenReady(function () {
      var element = document.getElementById(mountId);
      if (!element) { return; }
      try {
        var root = element.shadowRoot || element.attachShadow({ mode: "open" });
        root.innerHTML = "<style>:host{all:initial;display:inline-block}p{margin:0;max-width:360px;" +
          "font:13px/1.4 ui-sans-serif,system-ui,sans-serif;color:#a03123}" +
          "@media(prefers-color-scheme:dark){p{color:#f2a093}}</style><p role=alert></p>";
        root.lastChild.textContent = text;
      } catch (e) { /* an element that cannot hold a shadow root: the console has said it all */ }
    });
  }
  var keys = base + "/dashboard/api-keys";
  function badKey(message) {
    fail(message);
    notice("Sign-in is unavailable: this publishable key is not valid.");
  }
  var key = script.getAttribute("data-publishable-key") || "";
  if (/^sk_/.test(key)) {
    return badKey("data-publishable-key holds a secret key (sk_…), which must never be in a web page: remove it " +
      "(and treat it as leaked), and put this instance's publishable key there instead (pk_test_… or pk_live_…, from " + keys + ").");
  }
  var match = /^pk_(test|live)_([A-Za-z0-9+/=]+)$/.exec(key);
  if (!match) {
    return badKey('data-publishable-key must be this instance\'s publishable key ("pk_test_…" or "pk_live_…"); it is "' +
      key + '". Copy it from ' + keys + ".");
  }
  var host;
  try { host = atob(match[2]); } catch (e) { host = ""; }
  var served = new URL(script.src).host;
  if (host.slice(-1) !== "$") {
    return badKey('the publishable key "' + key + '" is not one Latchkey made (it does not name an instance). Copy it from ' + keys + ".");
  }
  if (host.slice(0, -1) !== served) {
    return badKey("the publishable key belongs to " + host.slice(0, -1) + ", but widget.js was loaded from " + served +
      ". Use the publishable key of " + served + " (from " + keys + "), or load widget.js from the instance the key belongs to.");
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
  var signedIn = null, learned;
  // Settled once the widget first knows whether someone is signed in (or could not start).
  var known = new Promise(function (resolve) { learned = resolve; });
  function tokenNow() {
    if (fresh()) { return Promise.resolve(token); }
    if (signedIn === false) { return Promise.resolve(null); }
    return refresh();
  }
  window.Latchkey = {
    // A promise of a fresh session token, or null when nobody is signed in. Asked before the
    // widget knows, it waits for it rather than ask Latchkey on a hunch (a 401, logged, for
    // every signed-out visitor).
    getToken: function () { return signedIn === null ? known.then(tokenNow) : tokenNow(); }
  };
  function onChange(isSignedIn) {
    signedIn = isSignedIn;
    if (isSignedIn) { if (!fresh()) { refresh(); } } else { forget(); }
    learned();
  }

  function start() {
    var element = document.getElementById(mountId);
    if (!element) { learned(); return fail('no element with id "' + mountId + '" to mount into.'); }
    import(base + "/widget/latchkey_widget.js")
      .then(function (module) { return module.default({ module_or_path: base + "/widget/latchkey_widget_bg.wasm" }).then(function () { return module; }); })
      .then(function (module) { module.mount(element, base, onChange); })
      .catch(function (error) {
        learned();
        fail("could not load from " + base + "/widget/: " + error);
        notice("Sign-in is unavailable right now. Try again later.");
      });
  }
  whenReady(start);
})();
