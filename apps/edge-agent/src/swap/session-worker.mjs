// One onnxruntime session on its own thread (see worker-session.ts for the protocol). Plain .mjs
// that imports only onnxruntime-node, so the same file runs from src/ under jest and from dist/
// (`npm run build` copies it). Tensor data arrives and leaves as typed arrays; outputs are
// transferred, not copied.
import { getPriority, setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

// On Linux a thread's nice value is its own (setpriority on 0 is the calling thread): a model
// loads and warms up niced, so on a busy device the serving thread keeps the cores it needs.
const BACKGROUND_NICE = 10;
/** Whether the thread could go back to normal priority after an earlier swap (raising it needs privileges). */
let canRestore = true;

let session;

parentPort.on('message', (msg) => void handle(msg, parentPort));

async function handle(msg, reply) {
  try {
    if (msg.op === 'port') {
      // A direct line for `run` requests from another thread, bypassing the thread that owns this one.
      msg.port.on('message', (m) => void (m.op === 'run' ? handle(m, msg.port) : msg.port.postMessage({ id: m.id, ok: false, error: { name: 'Error', message: `only run on a port, got ${m.op}` } })));
      parentPort.postMessage({ id: msg.id, ok: true });
      return;
    }
    if (msg.op === 'load') {
      if (canRestore) nice(BACKGROUND_NICE);
      session = await ort.InferenceSession.create(msg.path, msg.options ?? {});
      const inputs = session.inputMetadata.map((m) => ({ name: m.name, isTensor: m.isTensor, type: m.type, shape: m.isTensor ? [...m.shape] : [] }));
      parentPort.postMessage({ id: msg.id, ok: true, value: { inputs, outputNames: [...session.outputNames], nice: getPriority(0) } });
    } else if (msg.op === 'run') {
      if (session === undefined) throw new Error('no session loaded');
      const feeds = {};
      for (const [name, t] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const results = await session.run(feeds);
      const outputs = {};
      const transfer = new Set();
      for (const [name, t] of Object.entries(results)) {
        outputs[name] = { type: t.type, dims: [...t.dims], data: t.data };
        if (ArrayBuffer.isView(t.data) && t.data.buffer instanceof ArrayBuffer) transfer.add(t.data.buffer);
      }
      reply.postMessage({ id: msg.id, ok: true, value: outputs }, [...transfer]);
    } else if (msg.op === 'serve') {
      // Warmed and about to take the traffic: back to normal priority, when the process may raise it.
      canRestore = nice(0);
      parentPort.postMessage({ id: msg.id, ok: true, value: { restored: canRestore } });
    } else if (msg.op === 'release') {
      const s = session;
      session = undefined;
      await s?.release();
      parentPort.postMessage({ id: msg.id, ok: true });
    } else {
      throw new Error(`unknown op ${msg.op}`);
    }
  } catch (err) {
    reply.postMessage({ id: msg.id, ok: false, error: { name: err?.name ?? 'Error', message: err?.message ?? String(err) } });
  }
}

function nice(value) {
  try {
    setPriority(0, value);
    return true;
  } catch {
    return false;
  }
}
