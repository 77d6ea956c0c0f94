// Runs headless Chromium (Debian's /usr/bin/chromium, never a downloaded browser) with
// page.html served on 127.0.0.1, and relays between the page and this process's
// stdin/stdout as JSON lines:
//   stdin  -> page: {"type": "configure"|"start-offer"|"offer"|"answer"|"candidate"|"terminate"|"close"|"stats", ...}
//                   and XMPP (strophe.js): {"type": "xmpp-connect"|"xmpp-send"|"xmpp-disconnect", ...}
//   page -> stdout: {"ev": "ready"|"configured"|"offer"|"answer"|"candidate"|"candidate-error"|"state"|"track"|"closed"|"stats"|"error"|"log", "t": ms, ...}
//                   and {"ev": "xmpp-online"|"xmpp-joined"|"xmpp-presence"|"xmpp-iq"|"xmpp-sent"|"xmpp-result"|"xmpp-error"|"xmpp-offline", "conn", ...}
// The Rust test (tests/tests/browser.rs) drives it and converts SDP <-> Jingle.
//
// Usage: node harness.mjs [--mdns]
//   --mdns  keep Chromium's default mDNS (.local) host-candidate hiding on (and leave
//           out --use-fake-ui-for-media-stream, which turns the hiding off).
// Env: CHROMIUM (default /usr/bin/chromium).
// Ends when stdin ends or on {"type": "exit"}.

import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const mdns = process.argv.includes('--mdns');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const log = (...a) => process.stderr.write('[harness] ' + a.join(' ') + '\n');

const pageHtml = fs.readFileSync(path.join(here, 'page.html'));
// strophe.js's UMD build from node_modules (pinned in package-lock.json), for the
// page's XMPP mode; read on demand so that pages without XMPP need no strophe.
const stropheFile = path.join(here, 'node_modules/strophe.js/dist/strophe.umd.min.js');
const server = http.createServer((req, res) => {
  if (req.url === '/' || req.url === '/index.html') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(pageHtml);
  } else if (req.url === '/strophe.js') {
    fs.readFile(stropheFile, (err, body) => {
      if (err) {
        log('strophe.js missing:', err.message, '(run browser/run.sh)');
        res.writeHead(404);
        res.end();
      } else {
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
        res.end(body);
      }
    });
  } else if (req.url === '/favicon.ico') {
    res.writeHead(204);
    res.end();
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const url = `http://127.0.0.1:${server.address().port}/`;

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-browser-'));
const args = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  // Chromium gathers no loopback candidates unless told to; these tests stay on 127.0.0.1.
  '--allow-loopback-in-peer-connection',
  '--autoplay-policy=no-user-gesture-required',
];
if (mdns) {
  // --use-fake-ui-for-media-stream makes Chromium treat the page as having camera/mic
  // permission, and then it exposes raw host IPs instead of mDNS names; drop it.
  args.splice(args.indexOf('--use-fake-ui-for-media-stream'), 1);
} else {
  args.push('--disable-features=WebRtcHideLocalIpsWithMdns');
}

let context;
let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  try { if (context) await context.close(); } catch (e) { log('close:', e.message); }
  server.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(code);
}

try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args,
  });
} catch (e) {
  log('cannot launch', executablePath + ':', e.message);
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(3);
}
const page = context.pages()[0] || (await context.newPage());
page.on('console', (m) => log('console:', m.text()));
page.on('pageerror', (e) => out({ ev: 'error', msg: 'pageerror: ' + e.message }));
await page.exposeFunction('toNode', (text) => {
  process.stdout.write(text + '\n');
});
await page.goto(url);
out({ ev: 'ready', version: context.browser() ? context.browser().version() : null, mdns, url });

// Deliver stdin lines to the page one at a time, in order.
let chain = Promise.resolve();
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (!line.trim()) return;
  let msg;
  try { msg = JSON.parse(line); } catch (e) { out({ ev: 'error', msg: 'bad input line' }); return; }
  if (msg.type === 'exit') { chain = chain.then(() => shutdown(0)); return; }
  chain = chain
    .then(() => page.evaluate((t) => window.fromNode(t), JSON.stringify(msg)))
    .catch((e) => out({ ev: 'error', msg: 'evaluate: ' + e.message }));
});
rl.on('close', () => { chain.then(() => shutdown(0)); });
process.on('SIGTERM', () => shutdown(0));
