// The latent draws of `InfoGAN.latent_values(n, seed)` (infogan/model.py), reproduced in the browser.
//
// The Gradio app and the library draw z and the code priors from `torch.Generator().manual_seed(seed)` on the CPU.
// This file re-implements the parts of that generator they use, following PyTorch's own sources
// (aten/src/ATen/core/MT19937RNGEngine.h, core/TransformationHelper.h, core/DistributionsHelper.h,
// native/cpu/DistributionTemplates.h), so a share link shows the same image here as in the app:
//   - the engine is MT19937 seeded with the low 32 bits of the seed;
//   - torch.rand (float32): the low 24 bits of one 32-bit draw times 2^-24;
//   - torch.randint(k): one 32-bit draw modulo k;
//   - torch.randn (float32) with at least 16 values: all uniforms first, Box-Muller on blocks of 16 (uniforms j and
//     j + 8 make outputs j and j + 8), and when the size is not a multiple of 16, 16 fresh uniforms redo the last 16;
//   - torch.randn with fewer than 16 values: one double-precision Box-Muller per value, whose second (sine) output is
//     cached in the generator and used by the next normal draw.
// Integer draws and uniforms match torch bit for bit, and so does the < 16 path (double-precision Math). The 16-wide
// path takes float32 log/sin/cos, which torch computes with a SIMD polynomial on x86 CPUs with AVX2 (and the C library
// elsewhere), so there z agrees to about 1e-6, not bit for bit; tests/test_web_browser.py checks both against torch.

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const TWO_POW_MINUS_24 = 2 ** -24;
const TWO_POW_MINUS_53 = 2 ** -53;

/** torch.Generator() on the CPU after manual_seed(seed): MT19937 plus the cached second Box-Muller normal. */
export class TorchCPUGenerator {
  constructor(seed) {
    this.state = new Uint32Array(N);
    this.state[0] = Number(BigInt.asUintN(32, BigInt(seed)));
    for (let j = 1; j < N; j++) {
      const prev = this.state[j - 1] ^ (this.state[j - 1] >>> 30);
      this.state[j] = Math.imul(1812433253, prev) + j;  // the Uint32Array keeps it modulo 2^32
    }
    this.left = 1;
    this.next = 0;
    this.nextDoubleNormal = null;
  }

  /** One 32-bit draw (at::mt19937::operator()). */
  random() {
    if (--this.left === 0) this.twist();
    let y = this.state[this.next++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  twist() {
    const s = this.state;
    const mix = (u, v) => (((u & UPPER_MASK) | (v & LOWER_MASK)) >>> 1) ^ (v & 1 ? MATRIX_A : 0);
    let p = 0;
    for (; p < N - M; p++) s[p] = s[p + M] ^ mix(s[p], s[p + 1]);
    for (; p < N - 1; p++) s[p] = s[p + M - N] ^ mix(s[p], s[p + 1]);
    s[N - 1] = s[M - 1] ^ mix(s[N - 1], s[0]);
    this.left = N;
    this.next = 0;
  }

  /** uniform_real_distribution<float>(0, 1): 24 random bits, exact in float32. */
  uniformFloat() {
    return (this.random() & 0xffffff) * TWO_POW_MINUS_24;
  }

  /** uniform_real_distribution<double>(0, 1): 53 bits of random64() (first draw high, second low). */
  uniformDouble() {
    const hi = this.random();
    const lo = this.random();
    return ((hi & 0x1fffff) * 2 ** 32 + lo) * TWO_POW_MINUS_53;
  }

  /** at::normal_distribution<double>(0, 1), with torch's cached second value. */
  normalDouble() {
    if (this.nextDoubleNormal !== null) {
      const cached = this.nextDoubleNormal;
      this.nextDoubleNormal = null;
      return cached;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2.0 * Math.log1p(-u2));
    const theta = 2.0 * Math.PI * u1;
    this.nextDoubleNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** torch.randn(size) as float32 (normal_kernel: the 16-wide fill for size >= 16, else the scalar path). */
  randn(size) {
    const out = new Float32Array(size);
    if (size < 16) {
      for (let i = 0; i < size; i++) out[i] = this.normalDouble();
      return out;
    }
    for (let i = 0; i < size; i++) out[i] = this.uniformFloat();
    for (let i = 0; i < size - 15; i += 16) boxMuller16(out, i);
    if (size % 16 !== 0) {
      const start = size - 16;
      for (let i = 0; i < 16; i++) out[start + i] = this.uniformFloat();
      boxMuller16(out, start);
    }
    return out;
  }

  /** torch.randint(size, ()) for size < 2^28. */
  randint(size) {
    return this.random() % size;
  }

  /** torch.rand(()) as float32. */
  rand() {
    return this.uniformFloat();
  }
}

/** NormalFill16 in float32: uniforms at [o, o+8) and [o+8, o+16) become 16 normals in place. */
function boxMuller16(data, o) {
  const f = Math.fround;
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - data[o + j]);  // [0, 1) -> (0, 1] for the log
    const u2 = data[o + j + 8];
    const radius = f(Math.sqrt(f(-2 * f(Math.log(u1)))));
    const theta = f(2 * Math.PI * u2);  // 2.0f * pi<double> * u2 is a double product, then stored as float
    data[o + j] = f(radius * f(Math.cos(theta)));
    data[o + j + 8] = f(radius * f(Math.sin(theta)));
  }
}

/**
 * z and every code for n samples, as InfoGAN.latent_values(n, seed, codes) returns them: sample i is drawn after
 * samples 0..i-1 from one generator (z, then each code in config order), then the given codes overwrite theirs.
 * `latent` is config.json's "latent" object; `codes` maps a code name to a category index or a number, or to an
 * array of n of them. Returns {z: Float32Array(n * noise_dim), <name>: Int32Array(n) | Float32Array(n)}.
 */
export function latentValues(latent, n, seed, codes = {}) {
  const rng = new TorchCPUGenerator(seed);
  const values = { z: new Float32Array(n * latent.noise_dim) };
  for (const code of latent.codes) {
    values[code.name] = code.kind === "categorical" ? new Int32Array(n) : new Float32Array(n);
  }
  for (let i = 0; i < n; i++) {
    values.z.set(rng.randn(latent.noise_dim), i * latent.noise_dim);
    for (const code of latent.codes) {
      if (code.kind === "categorical") {
        values[code.name][i] = rng.randint(code.size);
      } else {
        // torch.rand(1) * (high - low) + low, all in float32 (the Python scalars are cast to the tensor's dtype)
        const f = Math.fround;
        values[code.name][i] = f(f(rng.rand() * f(code.high - code.low)) + f(code.low));
      }
    }
  }
  for (const [name, value] of Object.entries(codes)) {
    if (!(name in values) || name === "z") throw new Error(`unknown code ${JSON.stringify(name)}`);
    for (let i = 0; i < n; i++) values[name][i] = Array.isArray(value) ? value[i] : value;
  }
  return values;
}

/** The generator input (n, input_dim) in LatentSpec.to_generator_input's layout: [z, one-hots..., continuous...]. */
export function generatorInput(latent, values, n) {
  const width = latent.noise_dim + latent.codes.reduce((sum, c) => sum + (c.kind === "categorical" ? c.size : 1), 0);
  const input = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    let at = i * width;
    input.set(values.z.subarray(i * latent.noise_dim, (i + 1) * latent.noise_dim), at);
    at += latent.noise_dim;
    for (const code of latent.codes) {
      if (code.kind === "categorical") {
        input[at + values[code.name][i]] = 1;
        at += code.size;
      } else {
        input[at++] = values[code.name][i];
      }
    }
  }
  return input;
}
