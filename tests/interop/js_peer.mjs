#!/usr/bin/env node
// js-libp2p partner for Stargate interop tests. Prints one JSON object per line on stdout;
// diagnostics go to stderr.
//
//   node js_peer.mjs listen [--port 0] [--listen-ip 127.0.0.1] [--ignore-stdin]
//     TCP + Noise + Yamux with identify, ping, echo and a /perf/1.0.0 server on 127.0.0.1.
//     Prints {"event":"listening",...} once, then {"event":"peer:identify",...} per identified
//     peer. Runs until stdin closes (unless --ignore-stdin) or SIGTERM/SIGINT.
//
//   node js_peer.mjs listen --relay <relay multiaddr> ...
//     As above, and also reserves a slot on that Circuit Relay v2 relay; prints
//     {"event":"reserved","addrs":[...]} with its /p2p-circuit addresses once the reservation holds.
//
//   node js_peer.mjs relay-server [--port 0] [--ignore-stdin]
//     As listen, plus a Circuit Relay v2 hop server (js-libp2p defaults); prints
//     {"event":"relay:reservation","peer_id":...} for each reservation it grants.
//
//   node js_peer.mjs dht [--port 0] [--provide-key NAME] [--find-key NAME] [--ignore-stdin]
//     As listen, plus @libp2p/kad-dht on /ipfs/kad/1.0.0 in server mode, keeping loopback
//     addresses. Once a peer is in its routing table it provides the sha2-256 CID of NAME
//     ({"event":"provided"}); it looks for providers of the other NAME until it finds one
//     ({"event":"found","peer_id":...}). Both retry every 500 ms, for at most a minute.
//
//   node js_peer.mjs gossip <multiaddr> <topic> [--ignore-stdin]
//     Runs @libp2p/gossipsub (StrictSign), subscribes to <topic>, dials <multiaddr>, prints
//     {"event":"dialed"}, then {"event":"message","data":...} per message received, and publishes
//     "from-js <n>" every 200 ms once the peer is subscribed. Runs until stdin closes or SIGTERM.
//
//   node js_peer.mjs dial <multiaddr> [--echo-bytes N] [--streams N] [--ping N] [--perf N]
//                                     [--timeout-ms N]
//     Dials (a /p2p-circuit address too), waits for identify, pings N times, echoes N bytes over
//     one /echo/1.0.0 stream (SHA-256 checked), echoes a small message on K concurrent streams,
//     optionally runs perf (N bytes up and N down), then prints {"event":"result","ok":...} and
//     exits 0 only if ok.
//
// Every protocol also runs over relayed (limited) connections: the interop tests use them there.
// Every node also runs DCUtR (@libp2p/dcutr).
//
// Echo data is deterministic: the AES-128-CTR keystream for an all-zero key and IV.

// Node 20 lacks Promise.withResolvers (js-libp2p 3 uses it). Define it before loading libp2p,
// which is why the libp2p modules are imported dynamically below.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers () {
    let resolve, reject
    const promise = new this((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

const { createHash, createCipheriv } = await import('node:crypto')
const { createLibp2p } = await import('libp2p')
const { tcp } = await import('@libp2p/tcp')
const { noise } = await import('@chainsafe/libp2p-noise')
const { yamux } = await import('@chainsafe/libp2p-yamux')
const { identify } = await import('@libp2p/identify')
const { ping } = await import('@libp2p/ping')
const { echo } = await import('@libp2p/echo')
const { multiaddr } = await import('@multiformats/multiaddr')
const { circuitRelayServer, circuitRelayTransport } = await import('@libp2p/circuit-relay-v2')
const { dcutr } = await import('@libp2p/dcutr')
const { kadDHT, passthroughMapper } = await import('@libp2p/kad-dht')
const { CID } = await import('multiformats/cid')
const { sha256 } = await import('multiformats/hashes/sha2')
const { gossipsub } = await import('@libp2p/gossipsub')

const ECHO = '/echo/1.0.0'
const PERF = '/perf/1.0.0'
const CHUNK = 64 * 1024
const STREAM_LIMITS = { maxInboundStreams: 256, maxOutboundStreams: 256, runOnLimitedConnection: true }
const ON_LIMITED = { runOnLimitedConnection: true }

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const log = (...args) => console.error('[js_peer]', ...args)

function parseArgs (argv) {
  const opts = { _: [] }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--ignore-stdin') opts.ignoreStdin = true
    else if (['--relay', '--listen-ip', '--provide-key', '--find-key'].includes(a)) {
      const value = argv[++i]
      if (value === undefined) throw new Error(`${a} needs a value`)
      opts[a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = value
    } else if (a.startsWith('--')) {
      const value = argv[++i]
      if (value === undefined || !/^\d+$/.test(value)) throw new Error(`${a} needs a non-negative integer`)
      opts[a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = Number(value)
    } else opts._.push(a)
  }
  return opts
}

async function createNode (listenAddrs, { relayServer = false, dht = false, pubsub = false } = {}) {
  const services = {
    identify: identify(),
    ping: ping(STREAM_LIMITS),
    echo: echo(STREAM_LIMITS),
    // DCUtR as js-libp2p ships it: over TCP it cannot punch (Node.js has no SO_REUSEPORT), which
    // the interop tests rely on to see our side count a failed upgrade.
    dcutr: dcutr()
  }
  if (relayServer) services.relay = circuitRelayServer({ reservations: { maxReservations: 128 } })
  // Server mode and every address kept: the tests run on loopback, which the default mapper drops.
  if (dht) services.dht = kadDHT({ protocol: '/ipfs/kad/1.0.0', clientMode: false, peerInfoMapper: passthroughMapper })
  if (pubsub) services.pubsub = gossipsub({ allowPublishToZeroTopicPeers: true })
  const node = await createLibp2p({
    addresses: { listen: listenAddrs },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services
  })
  await node.handle(PERF, perfServer, STREAM_LIMITS)
  return node
}

const toBytes = (chunk) => (chunk instanceof Uint8Array ? chunk : chunk.subarray())

// Sends `source` (an iterable of Uint8Array) with backpressure, then closes our writing side.
async function sendAll (stream, source) {
  for (const buf of source) {
    if (!stream.send(buf)) await stream.onDrain()
  }
  await stream.close()
}

function * zeros (n) {
  const block = new Uint8Array(CHUNK)
  for (let left = n; left > 0; left -= CHUNK) yield left >= CHUNK ? block : block.subarray(0, left)
}

function * pseudoRandom (n, hash) {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16), Buffer.alloc(16))
  for (const block of zeros(n)) {
    const out = cipher.update(block)
    hash.update(out)
    yield out
  }
}

// /perf/1.0.0 server: an 8-byte big-endian count the client wants back, then the client's upload
// until it closes its side; then send that many bytes and close.
async function perfServer (stream) {
  let header = new Uint8Array(0)
  let uploaded = 0
  for await (const chunk of stream) {
    const buf = toBytes(chunk)
    if (header.length < 8) {
      const need = 8 - header.length
      header = new Uint8Array([...header, ...buf.subarray(0, need)])
      uploaded += Math.max(0, buf.length - need)
    } else {
      uploaded += buf.length
    }
  }
  if (header.length < 8) throw new Error('perf: stream closed before the 8-byte header')
  const download = Number(new DataView(header.buffer).getBigUint64(0))
  log(`perf: received ${uploaded} bytes, sending ${download}`)
  await sendAll(stream, zeros(download))
}

// Writes `source` on a new echo stream while hashing what comes back; resolves with the
// received byte count and SHA-256 once the remote closes.
async function echoStream (node, peer, source) {
  const stream = await node.dialProtocol(peer, ECHO, ON_LIMITED)
  const hash = createHash('sha256')
  let received = 0
  const done = new Promise((resolve, reject) => {
    stream.addEventListener('message', (evt) => {
      const buf = toBytes(evt.data)
      received += buf.length
      hash.update(buf)
    })
    stream.addEventListener('close', (evt) => {
      if (evt.error != null) reject(evt.error)
      else resolve({ received, sha256: hash.digest('hex') })
    })
  })
  await sendAll(stream, source)
  return await done
}

async function perfClient (node, peer, bytes) {
  const stream = await node.dialProtocol(peer, PERF, ON_LIMITED)
  let received = 0
  const start = performance.now()
  const done = new Promise((resolve, reject) => {
    stream.addEventListener('message', (evt) => { received += toBytes(evt.data).length })
    stream.addEventListener('close', (evt) => evt.error != null ? reject(evt.error) : resolve())
  })
  const header = new Uint8Array(8)
  new DataView(header.buffer).setBigUint64(0, BigInt(bytes))
  await sendAll(stream, [header, ...zeros(bytes)])
  const uploadedMs = performance.now() - start
  await done
  return { bytes_up: bytes, bytes_down: received, upload_ms: uploadedMs, total_ms: performance.now() - start }
}

function withTimeout (promise, ms, what) {
  let timer
  const timeout = new Promise((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function identifyJson (detail) {
  return {
    peer_id: detail.peerId.toString(),
    agent_version: detail.agentVersion,
    protocol_version: detail.protocolVersion,
    protocols: detail.protocols,
    listen_addrs: detail.listenAddrs.map(String),
    observed_addr: detail.observedAddr?.toString()
  }
}

// The CID whose multihash is sha2-256(name): the provider key Stargate uses for the same name.
async function cidOf (name) {
  return CID.createV1(0x55, await sha256.digest(new TextEncoder().encode(name)))
}

// Retries `attempt` every 500 ms until it returns true, for at most a minute.
async function retrying (what, attempt) {
  for (let i = 0; i < 120; i++) {
    try {
      if (await attempt()) return
    } catch (err) {
      log(`${what}: ${err?.message ?? err}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  emit({ event: 'error', message: `${what}: gave up` })
}

function runDhtTasks (node, opts) {
  if (opts.provideKey != null) {
    retrying('provide', async () => {
      if (node.services.dht.routingTable.size === 0) return false
      await node.contentRouting.provide(await cidOf(opts.provideKey), { signal: AbortSignal.timeout(10000) })
      emit({ event: 'provided', key: opts.provideKey })
      return true
    })
  }
  if (opts.findKey != null) {
    retrying('find providers', async () => {
      const cid = await cidOf(opts.findKey)
      for await (const provider of node.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(5000) })) {
        emit({ event: 'found', key: opts.findKey, peer_id: provider.id.toString(), addrs: provider.multiaddrs.map(String) })
        return true
      }
      return false
    })
  }
}

async function listen (opts, { relayServer = false, dht = false } = {}) {
  const listenAddrs = [`/ip4/${opts.listenIp ?? '127.0.0.1'}/tcp/${opts.port ?? 0}`]
  if (opts.relay != null) listenAddrs.push(`${opts.relay}/p2p-circuit`)
  const node = await createNode(listenAddrs, { relayServer, dht })
  if (dht) runDhtTasks(node, opts)
  node.addEventListener('peer:identify', (evt) => emit({ event: 'peer:identify', ...identifyJson(evt.detail) }))
  if (relayServer) {
    // The relay server dispatches no event per reservation: watch its reservation map instead.
    const seen = new Set()
    setInterval(() => {
      for (const [peer] of node.services.relay.reservations.entries()) {
        const id = peer.toString()
        if (!seen.has(id)) {
          seen.add(id)
          emit({ event: 'relay:reservation', peer_id: id })
        }
      }
    }, 50).unref()
  }
  emit({ event: 'listening', peer_id: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) })
  if (opts.relay != null) {
    // The circuit listen address appears once the reservation is made.
    const reported = new Set()
    const report = () => {
      const circuits = node.getMultiaddrs().map(String).filter((a) => a.includes('/p2p-circuit'))
      const key = circuits.join(' ')
      if (circuits.length > 0 && !reported.has(key)) {
        reported.add(key)
        emit({ event: 'reserved', addrs: circuits })
      }
    }
    node.addEventListener('self:peer:update', report)
    report()
  }

  let stopping = false
  const stop = async (why) => {
    if (stopping) return
    stopping = true
    log(`stopping: ${why}`)
    await node.stop()
    process.exit(0)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  process.on('SIGINT', () => stop('SIGINT'))
  if (!opts.ignoreStdin) {
    process.stdin.on('end', () => stop('stdin closed'))
    process.stdin.on('error', () => stop('stdin error'))
    process.stdin.resume()
  }
}

async function gossip (target, topic, opts) {
  const node = await createNode(['/ip4/127.0.0.1/tcp/0'], { pubsub: true })
  const pubsub = node.services.pubsub
  pubsub.subscribe(topic)
  pubsub.addEventListener('message', (evt) => {
    const m = evt.detail
    emit({ event: 'message', topic: m.topic, data: new TextDecoder().decode(m.data), from: m.from?.toString() })
  })
  await node.dial(multiaddr(target))
  emit({ event: 'dialed', peer_id: node.peerId.toString() })
  let n = 0
  setInterval(() => {
    if (pubsub.getSubscribers(topic).length === 0) return
    pubsub.publish(topic, new TextEncoder().encode(`from-js ${n++}`)).catch((err) => log(`publish: ${err?.message ?? err}`))
  }, 200)
  const stop = async (why) => {
    log(`stopping: ${why}`)
    await node.stop()
    process.exit(0)
  }
  process.on('SIGTERM', () => stop('SIGTERM'))
  if (!opts.ignoreStdin) {
    process.stdin.on('end', () => stop('stdin closed'))
    process.stdin.resume()
  }
}

async function dial (target, opts) {
  const timeoutMs = opts.timeoutMs ?? 60_000
  const result = { event: 'result', ok: false, identify: null, ping_rtts_ms: [], echo_sha256_ok: null, concurrent_ok: 0, errors: [] }
  const step = async (what, fn) => {
    try {
      await withTimeout(fn(), timeoutMs, what)
    } catch (err) {
      result.errors.push(`${what}: ${err?.message ?? err}`)
    }
  }

  const node = await createNode([])
  const ma = multiaddr(target)
  const expected = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
  const identified = new Promise((resolve) => {
    node.addEventListener('peer:identify', (evt) => {
      if (expected == null || evt.detail.peerId.toString() === expected) resolve(evt.detail)
    })
  })

  let peer = null
  await step('dial', async () => { peer = (await node.dial(ma)).remotePeer })
  if (peer != null) {
    await step('identify', async () => {
      result.identify = identifyJson(await identified)
      if (result.identify.peer_id !== peer.toString()) throw new Error('identified another peer')
    })
    for (let i = 0; i < (opts.ping ?? 0); i++) {
      await step(`ping ${i}`, async () => { result.ping_rtts_ms.push(await node.services.ping.ping(peer)) })
    }
    if (opts.echoBytes != null) {
      await step('echo', async () => {
        const sent = createHash('sha256')
        const got = await echoStream(node, peer, pseudoRandom(opts.echoBytes, sent))
        const want = sent.digest('hex')
        result.echo_bytes = got.received
        result.echo_sha256_ok = got.received === opts.echoBytes && got.sha256 === want
        if (!result.echo_sha256_ok) throw new Error(`got ${got.received} bytes, sha256 ${got.sha256}, want ${opts.echoBytes} bytes, ${want}`)
      })
    }
    if (opts.streams != null) {
      await step('concurrent echo', async () => {
        const runs = Array.from({ length: opts.streams }, async (_, i) => {
          const message = Buffer.from(`stargate interop stream ${i}\n`)
          const got = await echoStream(node, peer, [message])
          if (got.sha256 !== createHash('sha256').update(message).digest('hex')) throw new Error(`stream ${i}: wrong echo`)
        })
        const settled = await Promise.allSettled(runs)
        result.concurrent_ok = settled.filter((s) => s.status === 'fulfilled').length
        const failed = settled.filter((s) => s.status === 'rejected')
        if (failed.length > 0) throw new Error(`${failed.length}/${opts.streams} failed, first: ${failed[0].reason?.message ?? failed[0].reason}`)
      })
    }
    if (opts.perf != null) {
      await step('perf', async () => {
        result.perf = await perfClient(node, peer, opts.perf)
        if (result.perf.bytes_down !== opts.perf) throw new Error(`perf: got ${result.perf.bytes_down} of ${opts.perf} bytes`)
      })
    }
  }

  result.ok = result.errors.length === 0
  emit(result)
  await withTimeout(node.stop(), 5000, 'stop').catch((err) => log(err.message))
  process.exit(result.ok ? 0 : 1)
}

const [mode, ...rest] = process.argv.slice(2)
try {
  const opts = parseArgs(rest)
  if (mode === 'listen') await listen(opts)
  else if (mode === 'gossip' && opts._.length === 2) await gossip(opts._[0], opts._[1], opts)
  else if (mode === 'relay-server') await listen(opts, { relayServer: true })
  else if (mode === 'dht') await listen(opts, { dht: true })
  else if (mode === 'dial' && opts._.length === 1) await dial(opts._[0], opts)
  else {
    console.error('usage: js_peer.mjs listen [--port N] [--listen-ip IP] [--relay MULTIADDR] [--ignore-stdin]\n' +
      '       js_peer.mjs relay-server [--port N] [--listen-ip IP] [--ignore-stdin]\n' +
      '       js_peer.mjs dht [--port N] [--provide-key NAME] [--find-key NAME] [--ignore-stdin]\n' +
      '       js_peer.mjs gossip <multiaddr> <topic> [--ignore-stdin]\n' +
      '       js_peer.mjs dial <multiaddr> [--echo-bytes N] [--streams N] [--ping N] [--perf N] [--timeout-ms N]')
    process.exit(2)
  }
} catch (err) {
  emit({ event: 'error', message: String(err?.stack ?? err) })
  process.exit(1)
}
