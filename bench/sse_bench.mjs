#!/usr/bin/env node
// Server-Sent Events from Node's `http` module, the way A2A streams results today, for the side by
// side table of stargate_stream_bench (bench/stream_bench.cpp). No npm dependencies.
//
// Two processes on loopback, as an A2A client and server would be: this script forks itself as the
// server (`serve`), then measures as the client over one keep-alive connection:
//
//   - unary: POST a JSON-RPC request {"method":"echo","params":{"d":"<64 letters>"}}, the response
//     is application/json (the reference for the time to first event);
//   - time to first event: POST {"method":"message/stream","params":{"n":1,"size":64}}; the server
//     answers text/event-stream, one event per partial, each `data: <JSON-RPC response>\n\n` whose
//     result is {"i":i,"d":"<size letters>"}, then a final event {"final":true,"sent":n} and the
//     end of the response. Timed from the request to the first partial event parsed;
//   - events per second: the same with n partials of 64 B or 64 KiB (calibrated to last about
//     --seconds), from the request to the end of the response.
//
// The server serializes each event with JSON.stringify and writes it with res.write as fast as the
// client reads: when res.write returns false it waits for 'drain'. The client parses the stream
// line by line as an EventSource does (data: lines, a blank line ends the event) and JSON.parse-s
// each event's data.
//
//   node bench/sse_bench.mjs [--seconds S] [--reps R] [--ttfp N] [--warmup N] [--small B] [--large B]
//
// Prints one JSON line on stdout: {"node":…, "unary_us":[…], "first_us":[…], "rates":[{"size":…,
// "events":…, "seconds":[…]}, …]}. Progress goes to stderr.

import { fork } from 'node:child_process'
import http from 'node:http'

const opts = { seconds: 1, reps: 1, ttfp: 300, warmup: 50, small: 64, large: 65536 }

function letters (n) {
  let s = ''
  const abc = 'abcdefghijklmnopqrstuvwxyz'
  while (s.length < n) s += abc
  return s.slice(0, n)
}

// ---- server ----------------------------------------------------------------------------------

function serve () {
  const server = http.createServer({ noDelay: true }, (req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const rpc = JSON.parse(Buffer.concat(chunks).toString('utf8'))
      if (rpc.method === 'echo') {
        const out = JSON.stringify({ jsonrpc: '2.0', id: rpc.id, result: rpc.params })
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) })
        res.end(out)
        return
      }
      const n = rpc.params.n
      const d = letters(rpc.params.size)
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      let i = 0
      const pump = () => {
        while (i < n) {
          const event = 'data: ' + JSON.stringify({ jsonrpc: '2.0', id: rpc.id, result: { i, d } }) + '\n\n'
          ++i
          if (!res.write(event)) {
            res.once('drain', pump)
            return
          }
        }
        res.end('data: ' + JSON.stringify({ jsonrpc: '2.0', id: rpc.id, result: { final: true, sent: n } }) + '\n\n')
      }
      pump()
    })
  })
  server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }))
  process.on('disconnect', () => process.exit(0))
}

// ---- client ----------------------------------------------------------------------------------

let port = 0
let nextId = 0
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const now = () => process.hrtime.bigint()
const micros = (a, b) => Number(b - a) / 1e3

function post (body, onResponse, reject) {
  const req = http.request({
    agent,
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream, application/json', 'content-length': Buffer.byteLength(body) }
  }, onResponse)
  req.on('socket', (s) => s.setNoDelay(true))
  req.on('error', reject)
  req.end(body)
}

function unary (d) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++nextId, method: 'echo', params: { d } })
    post(body, (res) => {
      res.setEncoding('utf8')
      let text = ''
      res.on('data', (c) => { text += c })
      res.on('end', () => {
        const out = JSON.parse(text)
        if (out.result?.d?.length !== d.length) reject(new Error('unexpected echo'))
        else resolve()
      })
    }, reject)
  })
}

// One streamed call: resolves {first, end} (hrtime of the first partial parsed and of the end).
function stream (n, size) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: ++nextId, method: 'message/stream', params: { n, size } })
    let first = 0n
    let count = 0
    let final = null
    post(body, (res) => {
      res.setEncoding('utf8')
      let buf = ''
      let data = ''
      let hasData = false
      const dispatch = () => {
        const event = JSON.parse(data)
        data = ''
        hasData = false
        const r = event.result
        if (r.final) {
          final = r
          return
        }
        if (r.i !== count || r.d.length !== size) throw new Error(`unexpected event ${r.i} (${count} expected)`)
        if (count === 0) first = now()
        ++count
      }
      res.on('data', (chunk) => {
        buf += chunk
        let start = 0
        for (;;) {
          const nl = buf.indexOf('\n', start)
          if (nl < 0) break
          const line = buf.slice(start, nl)
          start = nl + 1
          if (line.length === 0) {
            if (hasData) dispatch()
          } else if (line.startsWith('data:')) {
            const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5)
            data = hasData ? data + '\n' + value : value
            hasData = true
          }
        }
        buf = start === buf.length ? '' : buf.slice(start)
      })
      res.on('end', () => {
        const end = now()
        if (count !== n || !final || final.sent !== n) reject(new Error(`got ${count} of ${n} events`))
        else resolve({ first, end })
      })
      res.on('error', reject)
    }, reject)
  })
}

async function client () {
  const child = fork(process.argv[1], ['serve'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  port = await new Promise((resolve) => child.once('message', (m) => resolve(m.port)))
  try {
    const d = letters(64)
    const unaryUs = []
    const firstUs = []
    for (let i = 0; i < opts.warmup + opts.ttfp; ++i) {
      const t0 = now()
      await unary(d)
      const t1 = now()
      const t2 = now()
      const { first } = await stream(1, opts.small)
      if (i >= opts.warmup) {
        unaryUs.push(micros(t0, t1))
        firstUs.push(micros(t2, first))
      }
    }
    const rates = []
    for (const [size, probe] of [[opts.small, 20000], [opts.large, 500]]) {
      // Calibration (and warm-up, for the JIT): the number of events that takes about --seconds,
      // from a second probe sized to take about a quarter of that.
      let perSecond = 0
      for (let n = probe, k = 0; k < 2; ++k) {
        const t0 = now()
        const { end } = await stream(n, size)
        perSecond = n / (Number(end - t0) / 1e9)
        n = Math.max(probe, Math.round(perSecond * opts.seconds / 4))
      }
      const events = Math.max(probe, Math.round(perSecond * opts.seconds))
      const seconds = []
      for (let r = 0; r < opts.reps; ++r) {
        const t1 = now()
        const { end: e } = await stream(events, size)
        seconds.push(Number(e - t1) / 1e9)
      }
      rates.push({ size, events, seconds })
      process.stderr.write(`sse: ${size} B: ${events} events in ${seconds.map((s) => s.toFixed(2)).join(', ')} s\n`)
    }
    process.stdout.write(JSON.stringify({ node: process.version, unary_us: unaryUs, first_us: firstUs, rates }) + '\n')
  } finally {
    agent.destroy()
    child.disconnect()
  }
}

const argv = process.argv.slice(2)
if (argv[0] === 'serve') {
  serve()
} else {
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '')
    if (!(key in opts) || i + 1 >= argv.length) {
      process.stderr.write('usage: node bench/sse_bench.mjs [--seconds S] [--reps R] [--ttfp N] [--warmup N] [--small B] [--large B]\n')
      process.exit(2)
    }
    opts[key] = Number(argv[i + 1])
  }
  await client()
}
