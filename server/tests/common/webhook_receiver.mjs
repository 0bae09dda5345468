// An app's webhook endpoint, for the integration tests: every delivery is checked with the
// `standardwebhooks` package (the Standard Webhooks reference library, not Latchkey's code).
//
//   node webhook_receiver.mjs            prints "listening <port>", then serves on 127.0.0.1
//   POST /control {"secret", "mode"}     mode: ok | fail (500) | missing (404) | slow (no answer
//                                        for 15 s) | close (drops the connection) | redirect
//   GET  /received                       {"deliveries": [{id, type, data}], "invalid", "attempts"}
import { createServer } from "node:http";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../../tools/package.json", import.meta.url));
const { Webhook } = require("standardwebhooks");

let secret = null;
let mode = "ok";
const deliveries = [];
let invalid = 0;
let attempts = 0;

const read = (request) =>
  new Promise((resolve) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });

const server = createServer(async (request, response) => {
  // The answer is the mode of the moment the request arrived: one sent before a switch (say,
  // just before the sender was killed) is not recorded as a delivery made after it.
  const modeAtArrival = mode;
  const body = await read(request);
  if (request.url === "/control" && request.method === "POST") {
    const asked = JSON.parse(body);
    if (asked.secret !== undefined) secret = asked.secret;
    if (asked.mode !== undefined) mode = asked.mode;
    response.writeHead(204).end();
    return;
  }
  if (request.url === "/received") {
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ deliveries, invalid, attempts }));
    return;
  }
  attempts += 1;
  switch (modeAtArrival) {
    case "fail":
      response.writeHead(500).end("down for maintenance");
      return;
    case "missing":
      response.writeHead(404).end();
      return;
    case "slow":
      setTimeout(() => response.writeHead(204).end(), 15_000);
      return;
    case "close":
      request.socket.destroy();
      return;
    case "redirect":
      response.writeHead(302, { location: "http://127.0.0.1:9/elsewhere" }).end();
      return;
  }
  try {
    const payload = new Webhook(secret).verify(body, request.headers);
    deliveries.push({ id: request.headers["webhook-id"], type: payload.type, timestamp: payload.timestamp, data: payload.data });
    response.writeHead(204).end();
  } catch (error) {
    invalid += 1;
    response.writeHead(400).end(String(error));
  }
});

server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
