// A third-party app's pages for the widget tests: serves host pages on its own port (another
// origin than Latchkey's), each embedding Latchkey's widget with one script tag.
//   node end2end/host/server.mjs PORT LATCHKEY_BASE PUBLISHABLE_KEY
import http from "node:http";

const [port, base, key] = process.argv.slice(2);

const pages = {
  "/": { title: "Host app", css: "" },
  // Hostile global CSS: the widget must still look like itself.
  "/hostile": {
    title: "Hostile host",
    css: `* { font-size: 40px !important; color: red !important; font-family: "Comic Sans MS", cursive !important; }
          button { background: lime !important; border: 9px dashed blue !important; padding: 40px !important; }
          span, img { display: none !important; } .lk-button, .lk { display: none !important; }`,
  },
  // A developer's mistakes: a key of another instance, and one that is not a key at all.
  "/wrong-key": { title: "Wrong key", css: "", key: "pk_test_" + Buffer.from("auth.example.com$").toString("base64") },
  "/malformed-key": { title: "Malformed key", css: "", key: "pk_live_not a key" },
};

http
  .createServer((req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    const page = pages[url.pathname];
    if (!page) {
      res.writeHead(404, { "content-type": "text/plain" });
      return res.end("not found");
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${page.title}</title><style>${page.css}</style></head>
<body><main>
  <h1 id="host-title">${page.title}</h1>
  <p id="host-content">The host page's own content.</p>
  <div id="latchkey"></div>
</main>
  <script src="${base}/widget.js" data-publishable-key="${page.key ?? key}" async></script>
</body></html>`);
  })
  .listen(Number(port), "127.0.0.1");
