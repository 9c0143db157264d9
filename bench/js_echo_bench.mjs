#!/usr/bin/env node
// js-libp2p echo latency, two processes on loopback, for the side-by-side table in
// docs/benchmarks.md. Starts `tests/interop/js_peer.mjs listen` (TCP + Noise + Yamux, @libp2p/echo)
// and a plain Node.js TCP echo server (setNoDelay) as child processes, then measures from this
// process:
//   - Node.js raw TCP 64-byte echo round trip
//   - js-libp2p 64-byte echo round trip on one reused /echo/1.0.0 stream
//   - js-libp2p new stream per 64-byte request
//   - js-libp2p new connection per 64-byte request (dial + Noise + Yamux + stream + echo)
// Prints markdown table rows (median, p99, ratio to the Node.js raw TCP median and, given
// --raw-us, to the C++ raw TCP median of stargate_bench) on stdout.
//
//   node bench/js_echo_bench.mjs [--echo N] [--new-stream N] [--new-connection N] [--raw-us X]
//
// The libp2p modules come from tests/interop/node_modules (run `npm ci` there first).

if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { spawn } = await import('node:child_process')
const { readFileSync } = await import('node:fs')
const net = await import('node:net')
const { dirname, join } = await import('node:path')
const { fileURLToPath, pathToFileURL } = await import('node:url')
const readline = await import('node:readline')

const here = dirname(fileURLToPath(import.meta.url))
const interop = join(here, '..', 'tests', 'interop')

// ESM packages resolve from the importing file's folder; these live in tests/interop.
function modulePath (name) {
  const dir = join(interop, 'node_modules', name)
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
  let entry = pkg.exports?.['.'] ?? pkg.exports
  while (entry != null && typeof entry === 'object') entry = entry.import ?? entry.default
  return pathToFileURL(join(dir, entry ?? pkg.main ?? 'index.js')).href
}
const { createLibp2p } = await import(modulePath('libp2p'))
const { tcp } = await import(modulePath('@libp2p/tcp'))
const { noise } = await import(modulePath('@chainsafe/libp2p-noise'))
const { yamux } = await import(modulePath('@chainsafe/libp2p-yamux'))
const { identify } = await import(modulePath('@libp2p/identify'))
const { multiaddr } = await import(modulePath('@multiformats/multiaddr'))

const ECHO = '/echo/1.0.0'
const SIZE = 64

const opts = { echo: 5000, newStream: 1000, newConnection: 100, warmup: 200, rawUs: 0 }
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase())
  opts[key] = Number(argv[i + 1])
}

const toBytes = (chunk) => (chunk instanceof Uint8Array ? chunk : chunk.subarray())
const now = () => performance.now() * 1000 // µs

function stats (samples) {
  const s = [...samples].sort((a, b) => a - b)
  const at = (p) => s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))]
  return { n: s.length, median: at(0.5), p99: at(0.99) }
}

// Waits for `n` more bytes from a source that pushes chunks into `feed`.
function byteWaiter () {
  let have = 0
  let waiting = null
  return {
    feed (len) {
      have += len
      if (waiting != null && have >= waiting.n) {
        have -= waiting.n
        const w = waiting
        waiting = null
        w.resolve()
      }
    },
    wait (n) {
      if (have >= n) { have -= n; return Promise.resolve() }
      const { promise, resolve } = Promise.withResolvers()
      waiting = { n, resolve }
      return promise
    }
  }
}

function child (args) {
  const proc = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = readline.createInterface({ input: proc.stdout })
  const first = new Promise((resolve, reject) => {
    lines.once('line', resolve)
    proc.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)))
  })
  return { proc, first }
}

async function rawTcp (port, count, warmup) {
  const socket = net.connect(port, '127.0.0.1')
  socket.setNoDelay(true)
  await new Promise((resolve) => socket.once('connect', resolve))
  const waiter = byteWaiter()
  socket.on('data', (d) => waiter.feed(d.length))
  const request = Buffer.alloc(SIZE, 0x42)
  const out = []
  for (let i = 0; i < warmup + count; i++) {
    const start = now()
    socket.write(request)
    await waiter.wait(SIZE)
    if (i >= warmup) out.push(now() - start)
  }
  socket.destroy()
  return out
}

function watch (stream) {
  const waiter = byteWaiter()
  const closed = new Promise((resolve, reject) => {
    stream.addEventListener('close', (evt) => evt.error != null ? reject(evt.error) : resolve())
  })
  stream.addEventListener('message', (evt) => waiter.feed(toBytes(evt.data).length))
  return { waiter, closed }
}

async function reusedStream (node, peer, count, warmup) {
  const stream = await node.dialProtocol(peer, ECHO)
  const { waiter, closed } = watch(stream)
  const request = new Uint8Array(SIZE).fill(0x42)
  const out = []
  for (let i = 0; i < warmup + count; i++) {
    const start = now()
    if (!stream.send(request)) await stream.onDrain()
    await waiter.wait(SIZE)
    if (i >= warmup) out.push(now() - start)
  }
  await stream.close()
  await closed
  return out
}

// Timed: open the stream (multistream-select), send 64 bytes, get them back; the close is not.
async function newStreams (node, target, count, warmup) {
  const request = new Uint8Array(SIZE).fill(0x42)
  const out = []
  for (let i = 0; i < warmup + count; i++) {
    const start = now()
    const stream = await node.dialProtocol(target, ECHO)
    const { waiter, closed } = watch(stream)
    stream.send(request)
    await stream.close()
    await waiter.wait(SIZE)
    if (i >= warmup) out.push(now() - start)
    await closed
  }
  return out
}

const { proc: echoProc, first: echoPort } = child(['-e',
  "require('net').createServer((s) => { s.setNoDelay(true); s.pipe(s) })" +
  ".listen(0, '127.0.0.1', function () { console.log(this.address().port) });" +
  "process.stdin.on('end', () => process.exit(0)); process.stdin.resume()"])
const { proc: peerProc, first: peerLine } = child([join(interop, 'js_peer.mjs'), 'listen'])
const rows = []
try {
  const port = Number(await echoPort)
  const listening = JSON.parse(await peerLine)
  const target = multiaddr(`${listening.addrs[0]}${listening.addrs[0].includes('/p2p/') ? '' : '/p2p/' + listening.peer_id}`)

  const raw = stats(await rawTcp(port, opts.echo, opts.warmup))
  console.error('[js_echo_bench] raw TCP done')
  rows.push(['Node.js raw TCP (setNoDelay), 64 B echo round trip', raw])

  const node = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  })
  const connection = await node.dial(target)
  const peer = connection.remotePeer
  console.error('[js_echo_bench] connected')
  rows.push(['js-libp2p 64 B echo, reused `/echo/1.0.0` stream', stats(await reusedStream(node, peer, opts.echo, opts.warmup))])
  console.error('[js_echo_bench] reused stream done')
  rows.push(['js-libp2p new stream per 64 B request', stats(await newStreams(node, peer, opts.newStream, 20))])
  console.error('[js_echo_bench] new streams done')

  // New connection per request: hang up (not timed), then dial the multiaddr again. js-libp2p's
  // connection manager resets more than 5 inbound connections per second from one address
  // (inboundConnectionThreshold), so the dials are paced (the pause is not timed).
  const perConnection = []
  for (let i = 0; i < opts.newConnection + 3; i++) {
    await node.hangUp(peer)
    await new Promise((resolve) => setTimeout(resolve, 250))
    const sample = await newStreams(node, target, 1, 0)
    if (i >= 3) perConnection.push(sample[0])
  }
  rows.push(['js-libp2p new connection per 64 B request (dial + Noise + Yamux + echo)', stats(perConnection)])
  await node.stop()

  for (const [name, s] of rows) {
    const vsCpp = opts.rawUs > 0 ? `${(s.median / opts.rawUs).toFixed(2)}×` : '–'
    console.log(`| ${name} | ${s.n} | ${s.median.toFixed(1)} µs | ${s.p99.toFixed(1)} µs | ${(s.median / raw.median).toFixed(2)}× | ${vsCpp} |`)
  }
} finally {
  echoProc.stdin.end()
  peerProc.stdin.end()
}
process.exit(0)
