// A stand-in for Notion's OAuth, for the production journey's browser test: it accepts only the
// client ID and secret it is started with, as a real Notion integration would.
//   node end2end/notion/server.mjs PORT CLIENT_ID CLIENT_SECRET
import http from "node:http";

const [port, clientId, clientSecret] = process.argv.slice(2);
const codes = new Map();

function json(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

http
  .createServer((req, res) => {
    const url = new URL(req.url, `http://127.0.0.1:${port}`);
    if (req.method === "GET" && url.pathname === "/v1/oauth/authorize") {
      const p = url.searchParams;
      if (p.get("client_id") !== clientId || p.get("response_type") !== "code" || p.get("owner") !== "user") {
        res.writeHead(400, { "content-type": "text/html" });
        return res.end("<h1>Missing or invalid client_id</h1>");
      }
      const code = Math.random().toString(36).slice(2);
      codes.set(code, p.get("redirect_uri"));
      res.writeHead(200, { "content-type": "text/html" });
      const back = `${p.get("redirect_uri")}?code=${code}&state=${encodeURIComponent(p.get("state"))}`;
      return res.end(`<!DOCTYPE html><title>Notion (stand-in)</title><h1>Notion stand-in</h1>
        <p>Allow this integration to read your user information?</p><a href="${back}">Allow access</a>`);
    }
    if (req.method === "POST" && url.pathname === "/v1/oauth/token") {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const expected = "Basic " + Buffer.from(`${clientId}:${clientSecret}`).toString("base64");
        if (req.headers.authorization !== expected) {
          return json(res, 401, { error: "invalid_client", error_description: "Invalid client credentials." });
        }
        let parsed = {};
        try { parsed = JSON.parse(body); } catch { return json(res, 400, { error: "invalid_request" }); }
        const redirect = codes.get(parsed.code);
        codes.delete(parsed.code);
        if (!redirect || redirect !== parsed.redirect_uri) {
          return json(res, 400, { error: "invalid_grant", error_description: "Invalid code." });
        }
        json(res, 200, {
          access_token: "ntn_prod_" + Math.random().toString(36).slice(2), token_type: "bearer", refresh_token: null,
          bot_id: "bot-prod-1", workspace_id: "ws-prod", workspace_name: "Production Workspace", workspace_icon: null,
          owner: { type: "user", user: { object: "user", id: "notion-pat", name: "Production Pat", avatar_url: null,
            type: "person", person: { email: "pat@example.com" } } },
          duplicated_template_id: null, request_id: "r",
        });
      });
      return;
    }
    json(res, 404, { object: "error", status: 404, code: "object_not_found", message: "Not found" });
  })
  .listen(Number(port), "127.0.0.1");
