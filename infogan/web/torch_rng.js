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
// The 16-wide path computes log, sin and cos in float32. On x86-64 CPUs with AVX2, PyTorch runs that path with the
// SIMD polynomials of ATen/native/cpu/avx_mathfun.h (Cephes, via Pommier's sse_mathfun) compiled with FMA; `logf`
// and `sincosf` below are those polynomials in float32, fused multiply-adds where the compiled code has them. So z,
// like every integer draw, uniform and the < 16 path, matches torch bit for bit there (tests/test_web_browser.py
// checks it; all 345,000 values checked over 4,600 seeds matched). Elsewhere (ARM, or x86 without AVX2) torch uses
// the C library's float functions instead, which differ from these by about 1e-6.
//
// Credits: MT19937 is Matsumoto and Nishimura's generator (BSD licence), as PyTorch (BSD licence) implements it.
// `logf` and `sincosf` are an altered port to JavaScript of avx_mathfun.h, (C) 2012 Giovanni Garberoglio, after
// Julien Pommier's sse_mathfun.h, both under the zlib licence; the polynomials are from Stephen Moshier's Cephes.

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

/** NormalFill16 in float32 (AVX2 kernel): uniforms at [o, o+8) and [o+8, o+16) become 16 normals in place. */
function boxMuller16(data, o) {
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - data[o + j]);  // [0, 1) -> (0, 1] for the log
    const u2 = data[o + j + 8];
    const radius = f32(Math.sqrt(f32(-2 * logf(u1))));
    const [sin, cos] = sincosf(f32(TWO_PI * u2));
    data[o + j] = f32(radius * cos);
    data[o + j + 8] = f32(radius * sin);
  }
}

// ---- float32 arithmetic as the AVX2 kernel does it ------------------------------------------------------------------

const f32 = Math.fround;
const TWO_PI = f32(2 * Math.PI);  // _mm256_set1_ps(2.0f * pi<double>)
const view = new DataView(new ArrayBuffer(4));
const bitsOf = (x) => (view.setFloat32(0, x), view.getInt32(0));
const fromBits = (i) => (view.setInt32(0, i), view.getFloat32(0));

/** fma(a, b, c) on float32 values with one rounding, as the vfmadd instructions compute it. */
function fma(a, b, c) {
  const p = a * b;  // exact: 24 x 24 bits fit in a double
  const s = p + c;
  const cv = s - p;  // TwoSum: s + e == p + c exactly
  const e = (p - (s - cv)) + (c - cv);
  const r = f32(s);
  if (e === 0 || r === s) return r;
  const other = fromBits(bitsOf(r) + ((r < s) === (r > 0) ? 1 : -1));  // the float on the other side of s
  if (Math.abs(s - r) !== Math.abs(other - s)) return r;  // s is not halfway between two floats: r is right
  return (e > 0) === (other > r) ? other : r;  // halfway in double, but the exact sum lies on e's side
}

const LOG_P = [7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1, -1.6668057665e-1,
  2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1].map(f32);
const LOG_Q1 = f32(-2.1219444e-4);
const LOG_Q2 = f32(0.693359375);
const SQRTHF = f32(0.707106781186547524);

/** log256_ps for one positive float. */
function logf(v) {
  let x = Math.max(v, fromBits(0x00800000));  // no denormals
  const exponent = (bitsOf(x) >>> 23) - 0x7f;
  x = fromBits((bitsOf(x) & ~0x7f800000) | bitsOf(0.5));  // mantissa in [0.5, 1)
  let e = f32(exponent + 1);
  const small = x < SQRTHF;
  const extra = small ? x : 0;
  x = f32(x - 1);
  e = f32(e - (small ? 1 : 0));
  x = f32(x + extra);
  const z = f32(x * x);
  let y = LOG_P[0];
  for (let i = 1; i < LOG_P.length; i++) y = fma(y, x, LOG_P[i]);
  y = f32(y * x);
  y = fma(y, z, f32(e * LOG_Q1));
  y = f32(y - f32(z * 0.5));
  x = f32(x + y);
  return fma(e, LOG_Q2, x);
}

const DP1 = f32(-0.78515625);
const DP2 = f32(-2.4187564849853515625e-4);
const DP3 = f32(-3.77489497744594108e-8);
const SIN_P = [-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1].map(f32);
const COS_P = [2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2].map(f32);
const FOUR_OVER_PI = f32(1.27323954473516);

/** sincos256_ps for one float: [sin(x), cos(x)]. */
function sincosf(value) {
  let x = Math.abs(value);
  let j = Math.trunc(f32(x * FOUR_OVER_PI));
  j = (j + 1) & ~1;
  const y = f32(j);
  x = fma(y, DP1, x);  // x - y·π/4 in three parts ("extended precision modular arithmetic")
  x = fma(y, DP2, x);
  x = fma(y, DP3, x);
  const z = f32(x * x);
  let cos = fma(COS_P[0], z, COS_P[1]);
  cos = fma(cos, z, COS_P[2]);
  cos = f32(cos * z);
  cos = fma(cos, z, -f32(z * 0.5));
  cos = f32(cos + 1);
  let sin = fma(SIN_P[0], z, SIN_P[1]);
  sin = fma(sin, z, SIN_P[2]);
  sin = f32(sin * z);
  sin = fma(sin, x, x);
  const swap = (j & 2) !== 0;  // the other polynomial for pi/4 < x <= pi/2
  const [s, c] = swap ? [cos, sin] : [sin, cos];
  const sinNegative = (value < 0) !== ((j & 4) !== 0);
  const cosNegative = ((~(j - 2)) & 4) !== 0;
  return [sinNegative ? -s : s, cosNegative ? -c : c];
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
