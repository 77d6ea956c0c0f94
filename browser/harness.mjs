// Runs a headless browser with page.html served on 127.0.0.1, and relays between the
// page and this process's stdin/stdout as JSON lines:
//   stdin  -> page: {"type": "configure"|"start-offer"|"offer"|"answer"|"candidate"|"terminate"|"close"|"stats", ...}
//                   and XMPP (strophe.js): {"type": "xmpp-connect"|"xmpp-send"|"xmpp-disconnect", ...}
//   page -> stdout: {"ev": "ready"|"configured"|"offer"|"answer"|"candidate"|"candidate-error"|"state"|"track"|"closed"|"stats"|"error"|"log", "t": ms, ...}
//                   and {"ev": "xmpp-online"|"xmpp-joined"|"xmpp-presence"|"xmpp-iq"|"xmpp-sent"|"xmpp-result"|"xmpp-error"|"xmpp-offline", "conn", ...}
// The Rust test (tests/tests/browser.rs) drives it and converts SDP <-> Jingle.
//
// Two browsers, never downloaded ones:
// - Chromium (the default): Debian's /usr/bin/chromium driven by playwright-core (CDP);
// - Firefox (--firefox or BROWSER=firefox): Debian's /usr/bin/firefox-esr driven by
//   puppeteer-core over WebDriver BiDi.
// The page and the protocol above are the same for both.
//
// Usage: node harness.mjs [--firefox] [--mdns]
//   --firefox  Firefox instead of Chromium (also BROWSER=firefox).
//   --mdns     keep Chromium's default mDNS (.local) host-candidate hiding on (and
//              leave out --use-fake-ui-for-media-stream, which turns the hiding off);
//              not with --firefox.
// Env: CHROMIUM (default /usr/bin/chromium), FIREFOX (default /usr/bin/firefox-esr).
// Ends when stdin ends or on {"type": "exit"}.

import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const mdns = process.argv.includes('--mdns');
const firefox = process.argv.includes('--firefox') || process.env.BROWSER === 'firefox';
if (firefox && mdns) {
  // With the media permission below Firefox never hides host addresses; without it, it
  // gathered no candidate at all here with obfuscation on (no multicast DNS).
  log('--mdns is not supported with --firefox');
  process.exit(2);
}
const executablePath = firefox
  ? process.env.FIREFOX || '/usr/bin/firefox-esr'
  : process.env.CHROMIUM || '/usr/bin/chromium';

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

// Chromium through playwright-core (CDP): a persistent context on a fresh user-data dir.
async function launchChromium() {
  const { chromium } = await import('playwright-core');
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
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args,
  });
  const page = context.pages()[0] || (await context.newPage());
  return {
    page,
    version: context.browser() ? context.browser().version() : null,
    close: () => context.close(),
  };
}

// Firefox through puppeteer-core over WebDriver BiDi, with a fresh profile (userDataDir)
// whose prefs give what Chromium's flags give.
async function launchFirefox() {
  const { default: puppeteer } = await import('puppeteer-core');
  const prefs = {
    // Fake camera/microphone, and no permission prompt for getUserMedia.
    'media.navigator.streams.fake': true,
    'media.navigator.permission.disabled': true,
    // Loopback host candidates (Firefox leaves out 127.0.0.1 otherwise): these tests
    // stay on 127.0.0.1.
    'media.peerconnection.ice.loopback': true,
    // Raw host addresses instead of mDNS (.local) names.
    'media.peerconnection.ice.obfuscate_host_addresses': false,
    // Play the remote video without a user gesture.
    'media.autoplay.default': 0,
    'media.autoplay.blocking_policy': 0,
    // No network traffic of its own.
    'network.http.http3.enable': false,
    'app.update.enabled': false,
    'browser.shell.checkDefaultBrowser': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'toolkit.telemetry.enabled': false,
  };
  // Camera and microphone allowed for every page: without a media permission (or an
  // active capture when the peer connection is made) Firefox gathers host candidates
  // only on the interface of the default route ("use only default local addresses" in
  // its ICE log), never on the loopback interface whatever
  // media.peerconnection.ice.loopback says.
  prefs['permissions.default.camera'] = 1;
  prefs['permissions.default.microphone'] = 1;
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath,
    headless: true,
    userDataDir,
    // HARNESS_DUMPIO=1: Firefox's own stdout/stderr on ours (with R_LOG_LEVEL=7
    // R_LOG_DESTINATION=stderr, its ICE agent's log).
    dumpio: process.env.HARNESS_DUMPIO === '1',
    extraPrefsFirefox: prefs,
  });
  const page = (await browser.pages())[0] || (await browser.newPage());
  return { page, version: await browser.version(), close: () => browser.close() };
}

let launched;
let closing = false;
async function shutdown(code) {
  if (closing) return;
  closing = true;
  try { if (launched) await launched.close(); } catch (e) { log('close:', e.message); }
  server.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(code);
}

try {
  launched = firefox ? await launchFirefox() : await launchChromium();
} catch (e) {
  log('cannot launch', executablePath + ':', e.message);
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(3);
}
const { page } = launched;
page.on('console', (m) => log('console:', m.text()));
page.on('pageerror', (e) => out({ ev: 'error', msg: 'pageerror: ' + e.message }));
await page.exposeFunction('toNode', (text) => {
  process.stdout.write(text + '\n');
});
await page.goto(url);
out({
  ev: 'ready', browser: firefox ? 'firefox' : 'chromium', version: launched.version, mdns, url,
});

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
