/** The HTTP transport on its own thread: the wire limit, its queue, and aborts of queued requests. */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createHttpTransport, type HttpTransport } from "../../src/models/http_transport.js";

let server: http.Server | undefined;
let transport: HttpTransport | undefined;
afterEach(async () => {
  await transport?.close();
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = transport = undefined;
});

/** A server answering each POST after `delayMs` with its body echoed; `paths` logs what arrived. */
async function slowServer(delayMs: number) {
  const paths: string[] = [];
  server = http.createServer((req, res) => {
    paths.push(req.url ?? "");
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => setTimeout(() => res.end(body), delayMs));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
}

describe("thread HTTP transport", () => {
  it("a request aborted while queued behind the wire limit is never sent; the others are answered", async () => {
    const { origin, paths } = await slowServer(200);
    transport = createHttpTransport({ origin, headers: {}, connections: 8 });
    await transport.ready();
    expect(transport.limitInFlight(1)).toBe(true);
    const keep = new AbortController();
    const drop = new AbortController();
    const first = transport.post("/a", "1", keep.signal);
    const queued = transport.post("/b", "2", drop.signal).catch((e: Error) => e);
    const third = transport.post("/c", "3", keep.signal);
    setTimeout(() => drop.abort(new Error("dropped")), 50); // /a is on the wire, /b and /c wait
    expect((await first).text).toBe("1");
    expect(((await queued) as Error).message).toBe("dropped");
    expect((await third).text).toBe("3");
    expect(paths).toEqual(["/a", "/c"]);
  });

  it("passes statuses, and headers of non-2xx replies", async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(req.url === "/busy" ? 429 : 200, { "retry-after": "3" });
        res.end(req.url);
      });
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    transport = createHttpTransport({ origin, headers: {}, connections: 2 });
    const signal = new AbortController().signal;
    const busy = await transport.post("/busy", "", signal);
    expect(busy).toMatchObject({ status: 429, text: "/busy" });
    expect(busy.headers["retry-after"]).toBe("3");
    expect(await transport.post("/ok", "", signal)).toMatchObject({ status: 200, text: "/ok" });
  });

  it("reports a refused connection with undici's error code", async () => {
    transport = createHttpTransport({ origin: "http://127.0.0.1:9", headers: {}, connections: 1 });
    const err = await transport.post("/x", "", new AbortController().signal).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(`${err.code ?? ""} ${err.message}`).toMatch(/ECONNREFUSED/);
  });
});
