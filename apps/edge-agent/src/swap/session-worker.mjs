// One onnxruntime session on its own thread (see worker-session.ts for the protocol). Plain .mjs
// that imports only onnxruntime-node, so the same file runs from src/ under jest and from dist/
// (`npm run build` copies it). Tensor data arrives and leaves as typed arrays; outputs are
// transferred, not copied.
import { parentPort } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

let session;

parentPort.on('message', (msg) => void handle(msg));

async function handle(msg) {
  try {
    if (msg.op === 'load') {
      session = await ort.InferenceSession.create(msg.path, msg.options ?? {});
      const inputs = session.inputMetadata.map((m) => ({ name: m.name, isTensor: m.isTensor, type: m.type, shape: m.isTensor ? [...m.shape] : [] }));
      parentPort.postMessage({ id: msg.id, ok: true, value: { inputs, outputNames: [...session.outputNames] } });
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
      parentPort.postMessage({ id: msg.id, ok: true, value: outputs }, [...transfer]);
    } else if (msg.op === 'release') {
      const s = session;
      session = undefined;
      await s?.release();
      parentPort.postMessage({ id: msg.id, ok: true });
    } else {
      throw new Error(`unknown op ${msg.op}`);
    }
  } catch (err) {
    parentPort.postMessage({ id: msg.id, ok: false, error: { name: err?.name ?? 'Error', message: err?.message ?? String(err) } });
  }
}
