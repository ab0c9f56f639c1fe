// Nimbus's Node.js runtime loop: polls the Lambda Runtime API at
// AWS_LAMBDA_RUNTIME_API, runs the handler named by _HANDLER from
// LAMBDA_TASK_ROOT and posts the result, the way the managed nodejs
// runtimes do. CommonJS and ES modules, async and callback handlers.
'use strict';
const net = require('net');
const path = require('path');
const fs = require('fs');
const url = require('url');
const util = require('util');

const api = process.env.AWS_LAMBDA_RUNTIME_API;
const [apiHost, apiPort] = api.split(':');
const base = '/2018-06-01/runtime';
const taskRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
const handlerSpec = process.env._HANDLER || '';

let currentRequestId = undefined;
let hadTrace = false;

// Lambda prefixes console output with time, request id and level.
function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [name, level] of Object.entries(levels)) {
    const orig = console[name] ? console[name].bind(console) : console.log.bind(console);
    const stream = name === 'error' || name === 'warn' ? process.stderr : process.stdout;
    console[name] = (...args) => {
      const msg = util.format(...args).replace(/\n/g, '\r');
      stream.write(`${new Date().toISOString()}\t${currentRequestId || 'undefined'}\t${level}\t${msg}\n`);
    };
    void orig;
  }
}

// RuntimeClient speaks HTTP/1.1 to the Runtime API over one raw keep-alive
// socket. The loop is strictly sequential, so one request is in flight at a
// time; this avoids the cost of Node's general-purpose http client on the
// hot path.
class RuntimeClient {
  constructor(host, port) {
    this.host = host;
    this.port = Number(port);
    this.sock = null;
    this.buf = null;
    this.pending = null;
  }

  connect() {
    const sock = net.connect({ host: this.host, port: this.port });
    sock.setNoDelay(true);
    sock.on('data', (chunk) => {
      this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
      this.parse();
    });
    const fail = (err) => {
      if (this.sock === sock) this.sock = null;
      this.buf = null;
      const p = this.pending;
      this.pending = null;
      if (p) p.reject(err || new Error('Runtime API connection closed'));
    };
    sock.on('error', fail);
    sock.on('close', () => fail());
    this.sock = sock;
  }

  request(method, p, body, headers) {
    if (!this.sock) this.connect();
    let head = `${method} ${base}${p} HTTP/1.1\r\nHost: ${api}\r\n`;
    for (const [k, v] of Object.entries(headers || {})) head += `${k}: ${v}\r\n`;
    const payload = body === undefined ? null : Buffer.isBuffer(body) ? body : Buffer.from(body);
    head += `Content-Length: ${payload ? payload.length : 0}\r\n\r\n`;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      if (payload) this.sock.write(Buffer.concat([Buffer.from(head, 'latin1'), payload]));
      else this.sock.write(head, 'latin1');
    });
  }

  parse() {
    const buf = this.buf;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.pending) return;
    const lines = buf.toString('latin1', 0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = {};
    for (let i = 1; i < lines.length; i++) {
      const c = lines[i].indexOf(':');
      if (c > 0) headers[lines[i].slice(0, c).trim().toLowerCase()] = lines[i].slice(c + 1).trim();
    }
    const len = Number(headers['content-length'] || 0);
    if (buf.length < end + 4 + len) return;
    const body = buf.subarray(end + 4, end + 4 + len);
    this.buf = buf.length > end + 4 + len ? buf.subarray(end + 4 + len) : null;
    const p = this.pending;
    this.pending = null;
    if (headers.connection === 'close') {
      this.sock.destroy();
      this.sock = null;
    }
    p.resolve({ status, headers, body });
  }
}

const client = new RuntimeClient(apiHost, apiPort);
const request = (method, p, body, headers) => client.request(method, p, body, headers);

function errorDoc(err) {
  if (err instanceof Error) {
    // Frames of this loop are Nimbus's, not the user's: drop them.
    const stack = typeof err.stack === 'string' ? err.stack.split('\n').filter((l) => !l.includes(__filename)) : [];
    return { errorType: err.name || 'Error', errorMessage: err.message, trace: stack, stackTrace: stack };
  }
  if (err !== null && typeof err === 'object') {
    return { errorType: 'Error', errorMessage: JSON.stringify(err), trace: [] };
  }
  return { errorType: 'string', errorMessage: String(err), trace: [] };
}

function postError(p, err, type) {
  const doc = errorDoc(err);
  const body = JSON.stringify(doc);
  return request('POST', p, body, {
    'Content-Type': 'application/json',
        'Lambda-Runtime-Function-Error-Type': type || doc.errorType,
  });
}

async function loadHandler() {
  // As Lambda does: the module ends at the first dot after the last slash;
  // the rest is a (possibly nested) export path.
  const dot = handlerSpec.indexOf('.', handlerSpec.lastIndexOf('/') + 1);
  if (dot < 0) {
    throw Object.assign(new Error(`Bad handler ${handlerSpec}`), { name: 'Runtime.MalformedHandlerName' });
  }
  const modulePath = handlerSpec.slice(0, dot);
  const exportPath = handlerSpec.slice(dot + 1);
  const candidates = ['.js', '.mjs', '.cjs'].map((ext) => path.resolve(taskRoot, modulePath + ext));
  const file = candidates.find((f) => fs.existsSync(f));
  if (!file) {
    const ts = ['.ts', '.mts', '.cts'].map((ext) => modulePath + ext).find((f) => fs.existsSync(path.resolve(taskRoot, f)));
    const hint = ts ? ` (${ts} is TypeScript: compile it to JavaScript first, as a bundler plugin does before deploying)` : '';
    throw Object.assign(new Error(`Cannot find module '${modulePath}'${hint}`), { name: 'Runtime.ImportModuleError' });
  }
  let mod;
  if (file.endsWith('.mjs') || (file.endsWith('.js') && isModulePackage(path.dirname(file)))) {
    mod = await import(url.pathToFileURL(file).href);
  } else {
    try {
      mod = require(file);
    } catch (e) {
      if (e && e.code === 'ERR_REQUIRE_ESM') mod = await import(url.pathToFileURL(file).href);
      else throw e;
    }
  }
  let fn = mod;
  for (const part of exportPath.split('.')) {
    fn = fn == null ? undefined : fn[part];
  }
  if (fn === undefined && mod && mod.default) {
    fn = mod.default;
    for (const part of exportPath.split('.')) fn = fn == null ? undefined : fn[part];
  }
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${modulePath}.${exportPath} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return fn;
}

function isModulePackage(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    const pj = path.join(d, 'package.json');
    if (fs.existsSync(pj)) {
      try { return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module'; } catch { return false; }
    }
    if (path.dirname(d) === d) return false;
  }
}

// These never change for an instance; reading process.env is not free.
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME;
const functionVersion = process.env.AWS_LAMBDA_FUNCTION_VERSION;
const memoryLimitInMB = process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE;
const logGroupName = process.env.AWS_LAMBDA_LOG_GROUP_NAME;
const logStreamName = process.env.AWS_LAMBDA_LOG_STREAM_NAME;

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms']);
  const ctx = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName,
    logStreamName,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  if (headers['lambda-runtime-client-context']) {
    try { ctx.clientContext = JSON.parse(headers['lambda-runtime-client-context']); } catch {}
  }
  if (headers['lambda-runtime-cognito-identity']) {
    try { ctx.identity = JSON.parse(headers['lambda-runtime-cognito-identity']); } catch {}
  }
  return ctx;
}

// invoke settles once with the handler's result, whichever way it reports:
// a returned promise, the callback, or the legacy context.succeed/fail/done.
function invoke(handler, event, ctx) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err); else resolve(result);
    };
    ctx.succeed = (r) => done(null, r);
    ctx.fail = (e) => done(e === undefined || e === null ? new Error('handled') : e);
    ctx.done = (e, r) => done(e, r);
    try {
      const ret = handler(event, ctx, done);
      if (ret && typeof ret.then === 'function') {
        ret.then((r) => done(null, r), (e) => done(e === undefined || e === null ? new Error(String(e)) : e));
      } else if (handler.length < 3) {
        done(null, ret);
      }
    } catch (e) {
      done(e);
    }
  });
}

async function main() {
  patchConsole();
  let handler;
  try {
    handler = await loadHandler();
  } catch (e) {
    console.error(e && e.stack ? e.stack : String(e));
    const type = e && typeof e.name === 'string' && e.name.startsWith('Runtime.') ? e.name : 'Runtime.UserCodeSyntaxError';
    const doc = errorDoc(e);
    if (!(e && typeof e.name === 'string' && e.name.startsWith('Runtime.'))) {
      doc.errorType = e && e.name === 'SyntaxError' ? 'Runtime.UserCodeSyntaxError' : (e && e.name) || 'Runtime.ImportModuleError';
    }
    const body = JSON.stringify(doc);
    await request('POST', '/init/error', body, {
      'Content-Type': 'application/json',       'Lambda-Runtime-Function-Error-Type': type,
    }).catch(() => {});
    process.exit(1);
  }
  for (;;) {
    const next = await request('GET', '/invocation/next');
    if (next.status !== 200) process.exit(1);
    const id = next.headers['lambda-runtime-aws-request-id'];
    currentRequestId = id;
    const trace = next.headers['lambda-runtime-trace-id'];
    if (trace) process.env._X_AMZN_TRACE_ID = trace;
    else if (hadTrace) delete process.env._X_AMZN_TRACE_ID;
    hadTrace = !!trace;
    let event;
    try {
      event = next.body.length ? JSON.parse(next.body.toString('utf8')) : {};
    } catch (e) {
      await postError(`/invocation/${id}/error`, e, 'Runtime.UnmarshalError');
      continue;
    }
    try {
      const result = await invoke(handler, event, makeContext(next.headers));
      const body = result === undefined ? 'null' : JSON.stringify(result);
      await request('POST', `/invocation/${id}/response`, body, {
        'Content-Type': 'application/json',       });
    } catch (e) {
      console.error(e && e.stack ? `Invoke Error \t${JSON.stringify(errorDoc(e))}` : String(e));
      await postError(`/invocation/${id}/error`, e);
    }
    currentRequestId = undefined;
  }
}

process.on('unhandledRejection', (reason) => {
  console.error('Unhandled Promise Rejection', reason);
  process.exit(128);
});

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
