import { Piscina } from 'piscina';
const t0 = performance.now();
const pool = new Piscina({ filename: new URL('./w.ts', import.meta.url).href, minThreads: 2, maxThreads: 2, idleTimeout: 1e9 });
const sab = new SharedArrayBuffer(256);
const w = new Int32Array(sab);
const ps = [0, 1].map((slot) => pool.run({ sab, slot, mode: 'loop' }));
// wait ready
for (const slot of [0,1]) { while (Atomics.load(w, 10 + slot) === 0) { const r = Atomics.waitAsync(w, 10 + slot, 0, 1000); if (r.async) await r.value; } }
console.log('ready ms', (performance.now() - t0).toFixed(0));
const t1 = performance.now();
const N = 100000;
for (let i = 0; i < N; i++) {
  const slot = i & 1;
  Atomics.store(w, slot, 1); Atomics.notify(w, slot);
  while (Atomics.load(w, slot) === 1) Atomics.wait(w, slot, 1, 100);
  Atomics.store(w, slot, 0);
}
console.log('handoff us', ((performance.now() - t1) * 1000 / N).toFixed(2), w[20], w[21]);
for (const slot of [0,1]) { Atomics.store(w, slot, 3); Atomics.notify(w, slot); }
console.log(await Promise.all(ps));
await pool.destroy();
