// XNOR-popcount binary convolution (the `native` engine of src/infer/native-engine.ts): the same
// arithmetic as the wasm engine (src/infer/wasm-engine.ts), on the packed layout of
// src/infer/pack.ts, with run-time dispatch and no -march: AVX-512 VPOPCNTDQ, AVX2 (nibble-LUT
// popcount, vpshufb + vpsadbw), or scalar popcount (the popcnt instruction where present).
//
//   y[n, oy, ox, o] = alpha_o * f32(S) (+ bias_o),  S = base - 2 * P - corr
//
// P = popcount(x XOR w [AND m]) over the patch's 64-bit words. Padding, exactly as training pads
// (a tap outside the image is 0, not +-1): the input is packed into zero-padded planes, where a
// clear bit reads as +1, so without a mask plane base = kh*kw*C and a border pixel subtracts
// corr_o = sum over its padding taps of (C - 2 popcount(w_tap)), what those taps added (Larq
// Compute Engine's correction). With a mask plane (sign_at_zero = zero and some input is 0) base
// = popcount(mask patch), padding has mask 0 and counts nothing, corr = 0.
//
// Integer sums are exact, so thread count and summation order cannot change a result; every
// output element is written by one thread, and the float epilogue is one multiply, one add, no
// contraction (binding.gyp), as engine.ts `epilogue`.
#if (defined(__x86_64__) || defined(__i386__)) && !defined(BNN_NO_X86)  // BNN_NO_X86: check the other path compiles
#define BNN_X86 1
// GCC 12 warns that its own AVX-512 intrinsics use an uninitialized variable (a known false alarm of avx512fintrin.h).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#else
#define BNN_X86 0  // other CPUs (arm64): the scalar path alone, __builtin_popcountll as the compiler sees fit
#endif
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "common.h"

namespace bnn {
namespace {

#if BNN_X86
#define BNN_AVX512 __attribute__((target("avx512f,avx512vpopcntdq")))
#define BNN_AVX2 __attribute__((target("avx2")))
#define BNN_POPCNT __attribute__((target("popcnt")))
#else
#define BNN_POPCNT
#endif

enum Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
const char* const kIsaNames[] = {"scalar", "avx2", "avx512"};

bool isaSupported(int isa) {
#if BNN_X86
  __builtin_cpu_init();
  switch (isa) {
    case kScalar: return true;
    case kAvx2: return __builtin_cpu_supports("avx2");
    case kAvx512: return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
    default: return false;
  }
#else
  return isa == kScalar;
#endif
}

constexpr int kLanes = 8;  // output channels per filter block (one zmm of u64, two ymm)
constexpr int kPx = 4;     // output pixels per tile

// One call's shapes and buffers. Filter blocks: [ceil(O/8)][K][8] u64, K = kh*kw*W64 words.
struct Call {
  int n, h, w, c, kh, kw, stride, padTop, padLeft, outH, outW, outC;
  int words;   // u64 words per pixel, ceil(c / 64)
  int hp, wp;  // padded plane
  int K;       // u64 words per patch
  int blocks;  // ceil(outC / 8)
  const uint64_t* filt;
  const int32_t* tapSums;  // [O][kh*kw]: C - 2 popcount(w_tap)
  const float* alpha;
  const float* bias;  // nullptr: none
  const float* slope;  // the fused PReLU's slope per output channel (y = prelu(alpha*S + bias)), or nullptr: none
  const float* alphaPad;  // alpha, bias and slope padded with zeros to blocks * 8 (the vector epilogue's loads)
  const float* biasPad;
  const float* slopePad;
  float* out;        // y per output pixel at outStride floats (a channel slice of a wider buffer), or nullptr
  int64_t inStride;  // floats between input pixels (c, or the width of the buffer x is a channel slice of)
  int64_t outStride;
  // With `sum`, also sum = concat(parts..., y) + res per output pixel at sumStride (a block's
  // concat and residual add, fused): parts are earlier dense outputs [pixels][partCh] that come
  // first in the concat.
  float* sum;
  const float* res;
  int64_t sumStride;
  static constexpr int kMaxParts = 4;
  const float* parts[kMaxParts];
  int partCh[kMaxParts];
  int nParts;
  int partWidth;  // sum of partCh
  const uint64_t* xb;  // padded bit plane [n][hp][wp][words]
  const uint64_t* xm;  // its non-zero mask plane, or nullptr
};

// What a tile needs per pixel: its patch (and mask), base, correction and output row.
struct Px {
  const uint64_t* x;
  const uint64_t* m;
  int32_t base;
  const int32_t* corr;  // [blocks * 8]
  float* out;
};

inline int64_t rowStride(const Call& c) { return static_cast<int64_t>(c.wp) * c.words; }

// PReLU as tfjs's wasm Prelu kernel computes it (XNNPACK's integer min/max variant, and the
// native backend's twin in eltwise.cc): pos = v where its bits are > 0 as a signed integer, else
// 0; neg = v where they are < 0, else 0; y = pos + neg * slope. So -0 gives +0 (and so does a
// product that underflows to -0), NaN stays NaN, and an infinite slope makes NaN of a positive v
// (0 * inf), all as the separate layer does. One multiply, one add, never contracted (binding.gyp).
inline float prelu(float v, float slope) {
  int32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  const float pos = bits > 0 ? v : 0.0f, neg = bits < 0 ? v : 0.0f;
  return pos + neg * slope;
}

// The float epilogue of one output element; the vector epilogues compute the very same.
inline float finish(int64_t p, const Px& px, int o, const Call& c) {
  const int32_t s = static_cast<int32_t>(px.base - 2 * p - px.corr[o]);
  float y = c.alpha[o] * static_cast<float>(s);
  if (c.bias != nullptr) y = y + c.bias[o];
  return c.slope == nullptr ? y : prelu(y, c.slope[o]);
}

// The loops over a tile's pixels, blocks and lanes are unrolled (#pragma GCC unroll) so that
// the accumulators live in registers: -O2 alone kept them on the stack, 4x slower.

// ---- scalar: PX pixels x one block of 8 channels, __builtin_popcountll ----------------------
//
// The block's 8 lanes are done LG at a time, so that the PX*LG accumulators, the PX patch words
// and the LG filter words fit x86-64's 16 general registers: all 32 accumulators of a 4 x 8 tile
// at once spilled to the stack (every add a load and a store). Zen 3 issues popcnt on all four
// integer ALUs (Intel on one port), so there this path is ALU-bound at ~3 ops per word pair.

template <int PX, int LG, bool MASKED>
__attribute__((always_inline)) inline void tileScalarBody(const Call& c, const Px* px, int ob) {
  const int rowLen = c.kw * c.words;
  const int64_t rs = rowStride(c);
  const uint64_t* fb = c.filt + static_cast<int64_t>(ob) * c.K * kLanes;
  const int o0 = ob * kLanes;
  const int lanes = std::min(kLanes, c.outC - o0);
  for (int l0 = 0; l0 < lanes; l0 += LG) {
    uint64_t acc[PX][LG] = {};
    for (int ky = 0; ky < c.kh; ++ky) {
      for (int j = 0; j < rowLen; ++j) {
        const uint64_t* f = fb + (static_cast<int64_t>(ky) * rowLen + j) * kLanes + l0;
        #pragma GCC unroll 16
        for (int p = 0; p < PX; ++p) {
          const uint64_t x = px[p].x[ky * rs + j];
          if (MASKED) {
            const uint64_t m = px[p].m[ky * rs + j];
            #pragma GCC unroll 16
            for (int l = 0; l < LG; ++l) acc[p][l] += __builtin_popcountll((x ^ f[l]) & m);
          } else {
            #pragma GCC unroll 16
            for (int l = 0; l < LG; ++l) acc[p][l] += __builtin_popcountll(x ^ f[l]);
          }
        }
      }
    }
    #pragma GCC unroll 16
    for (int p = 0; p < PX; ++p)
      for (int l = 0; l < LG && l0 + l < lanes; ++l) px[p].out[o0 + l0 + l] = finish(static_cast<int64_t>(acc[p][l]), px[p], o0 + l0 + l, c);
  }
}

template <int PX, bool MASKED>
BNN_POPCNT void tilePopcnt(const Call& c, const Px* px, int ob) { tileScalarBody<PX, 2, MASKED>(c, px, ob); }
template <int PX, bool MASKED>
void tileGeneric(const Call& c, const Px* px, int ob) { tileScalarBody<PX, 2, MASKED>(c, px, ob); }

#if BNN_X86
// ---- AVX2: PX pixels x 8 channels (two ymm of u64), nibble-LUT popcount -------------------
//
// Per 4 words: xor (and the mask), two nibble extractions (and, shift + and), two vpshufb into
// byte counts, two byte adds. The byte counts (<= 8 per step) are summed per u64 lane with one
// vpsadbw only every kFlush steps (31 * 8 <= 255 cannot overflow a byte), not once a step: the
// issue's shape (18 steps) flushes once, at the end.

constexpr int kFlush = 31;

BNN_AVX2 inline __m256i byteCounts(__m256i v, __m256i lut, __m256i low) {
  const __m256i lo = _mm256_and_si256(v, low);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

// Four i64 lanes of a and of b (each < 2^31) as eight i32, a's first.
BNN_AVX2 inline __m256i narrow(__m256i a, __m256i b) {
  const __m256 ab = _mm256_shuffle_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), _MM_SHUFFLE(2, 0, 2, 0));  // a0 a1 b0 b1 | a2 a3 b2 b3
  return _mm256_permute4x64_epi64(_mm256_castps_si256(ab), _MM_SHUFFLE(3, 1, 2, 0));
}

// prelu() on 8 lanes: select by the bits as signed integers, then pos + neg * slope.
BNN_AVX2 inline __m256 prelu8(__m256 v, const float* slope) {
  const __m256i bits = _mm256_castps_si256(v), zero = _mm256_setzero_si256();
  const __m256 pos = _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_cmpgt_epi32(bits, zero)));
  const __m256 neg = _mm256_and_ps(v, _mm256_castsi256_ps(_mm256_cmpgt_epi32(zero, bits)));
  return _mm256_add_ps(pos, _mm256_mul_ps(neg, _mm256_loadu_ps(slope)));
}

// finish() for 8 channels at o0: S = base - 2P - corr in i32, then alpha*S (+ bias) (-> prelu),
// the same operations per lane as the scalar epilogue (vcvtdq2ps rounds as cvtsi2ss does).
BNN_AVX2 inline __m256 epilogue8(__m256i p, int32_t base, const int32_t* corr, const Call& c, int o0) {
  const __m256i s = _mm256_sub_epi32(_mm256_sub_epi32(_mm256_set1_epi32(base), _mm256_slli_epi32(p, 1)),
                                     _mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr + o0)));
  __m256 v = _mm256_mul_ps(_mm256_loadu_ps(c.alphaPad + o0), _mm256_cvtepi32_ps(s));
  if (c.bias != nullptr) v = _mm256_add_ps(v, _mm256_loadu_ps(c.biasPad + o0));
  return c.slope == nullptr ? v : prelu8(v, c.slopePad + o0);
}

BNN_AVX2 inline void store8(float* out, __m256 v, int lanes) {
  if (lanes == kLanes) {
    _mm256_storeu_ps(out, v);
  } else {
    alignas(32) float y[kLanes];
    _mm256_store_ps(y, v);
    std::memcpy(out, y, sizeof(float) * lanes);
  }
}

// d = a + r over n floats (one float32 add each, the Add layer's operands in its order).
BNN_AVX2 void add256(const float* a, const float* r, float* d, int n) {
  int o = 0;
  for (; o + 8 <= n; o += 8) _mm256_storeu_ps(d + o, _mm256_add_ps(_mm256_loadu_ps(a + o), _mm256_loadu_ps(r + o)));
  for (; o < n; ++o) d[o] = a[o] + r[o];
}

template <int PX, bool MASKED>
BNN_AVX2 void tileAvx2(const Call& c, const Px* px, int ob) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                       0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  __m256i bytes[PX][2], acc[PX][2];
  #pragma GCC unroll 16
  for (int p = 0; p < PX; ++p) bytes[p][0] = bytes[p][1] = acc[p][0] = acc[p][1] = _mm256_setzero_si256();
  const int rowLen = c.kw * c.words;
  const int64_t rs = rowStride(c);
  const uint64_t* fb = c.filt + static_cast<int64_t>(ob) * c.K * kLanes;
  int pending = 0;  // steps summed into `bytes` since the last flush
  for (int ky = 0; ky < c.kh; ++ky) {
    for (int j = 0; j < rowLen; ++j) {
      const uint64_t* f = fb + (static_cast<int64_t>(ky) * rowLen + j) * kLanes;
      const __m256i f0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(f));
      const __m256i f1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(f + 4));
      #pragma GCC unroll 16
      for (int p = 0; p < PX; ++p) {
        const __m256i x = _mm256_set1_epi64x(static_cast<long long>(px[p].x[ky * rs + j]));
        __m256i d0 = _mm256_xor_si256(x, f0), d1 = _mm256_xor_si256(x, f1);
        if (MASKED) {
          const __m256i m = _mm256_set1_epi64x(static_cast<long long>(px[p].m[ky * rs + j]));
          d0 = _mm256_and_si256(d0, m);
          d1 = _mm256_and_si256(d1, m);
        }
        bytes[p][0] = _mm256_add_epi8(bytes[p][0], byteCounts(d0, lut, low));
        bytes[p][1] = _mm256_add_epi8(bytes[p][1], byteCounts(d1, lut, low));
      }
      if (++pending == kFlush) {
        pending = 0;
        #pragma GCC unroll 16
        for (int p = 0; p < PX; ++p) {
          #pragma GCC unroll 2
          for (int h = 0; h < 2; ++h) {
            acc[p][h] = _mm256_add_epi64(acc[p][h], _mm256_sad_epu8(bytes[p][h], _mm256_setzero_si256()));
            bytes[p][h] = _mm256_setzero_si256();
          }
        }
      }
    }
  }
  const int o0 = ob * kLanes;
  const int lanes = std::min(kLanes, c.outC - o0);
  #pragma GCC unroll 16
  for (int p = 0; p < PX; ++p) {
    const __m256i p0 = _mm256_add_epi64(acc[p][0], _mm256_sad_epu8(bytes[p][0], _mm256_setzero_si256()));
    const __m256i p1 = _mm256_add_epi64(acc[p][1], _mm256_sad_epu8(bytes[p][1], _mm256_setzero_si256()));
    store8(px[p].out + o0, epilogue8(narrow(p0, p1), px[p].base, px[p].corr, c, o0), lanes);
  }
}

// ---- AVX-512 VPOPCNTDQ: PX pixels x NB blocks of 8 channels, vector epilogue ---------------

template <int PX, int NB, bool MASKED>
BNN_AVX512 void tileAvx512(const Call& c, const Px* px, int ob) {
  __m512i acc[PX][NB];
  #pragma GCC unroll 16
  for (int p = 0; p < PX; ++p)
    #pragma GCC unroll 16
    for (int b = 0; b < NB; ++b) acc[p][b] = _mm512_setzero_si512();
  const int rowLen = c.kw * c.words;
  const int64_t rs = rowStride(c);
  const int64_t blockStride = static_cast<int64_t>(c.K) * kLanes;
  const uint64_t* fb = c.filt + ob * blockStride;
  for (int ky = 0; ky < c.kh; ++ky) {
    for (int j = 0; j < rowLen; ++j) {
      const uint64_t* f = fb + (static_cast<int64_t>(ky) * rowLen + j) * kLanes;
      __m512i fv[NB];
      #pragma GCC unroll 16
      for (int b = 0; b < NB; ++b) fv[b] = _mm512_loadu_si512(f + b * blockStride);
      #pragma GCC unroll 16
      for (int p = 0; p < PX; ++p) {
        const __m512i x = _mm512_set1_epi64(static_cast<long long>(px[p].x[ky * rs + j]));
        if (MASKED) {
          const __m512i m = _mm512_set1_epi64(static_cast<long long>(px[p].m[ky * rs + j]));
          // (f XOR x) AND m in one vpternlogq: 0xF0 ^ 0xCC = 0x3C, & 0xAA = 0x28.
          #pragma GCC unroll 16
          for (int b = 0; b < NB; ++b) acc[p][b] = _mm512_add_epi64(acc[p][b], _mm512_popcnt_epi64(_mm512_ternarylogic_epi64(fv[b], x, m, 0x28)));
        } else {
          #pragma GCC unroll 16
          for (int b = 0; b < NB; ++b) acc[p][b] = _mm512_add_epi64(acc[p][b], _mm512_popcnt_epi64(_mm512_xor_si512(fv[b], x)));
        }
      }
    }
  }
  #pragma GCC unroll 16
  for (int p = 0; p < PX; ++p) {
    const __m512i base = _mm512_set1_epi64(px[p].base);
    #pragma GCC unroll 16
    for (int b = 0; b < NB; ++b) {
      const int o0 = (ob + b) * kLanes;
      // S = base - 2P - corr in i64 lanes, narrowed to i32 (|S| <= K*64), then as finish().
      const __m512i corr = _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(px[p].corr + o0)));
      const __m512i s = _mm512_sub_epi64(_mm512_sub_epi64(base, _mm512_slli_epi64(acc[p][b], 1)), corr);
      const __m256 sf = _mm256_cvtepi32_ps(_mm512_cvtepi64_epi32(s));
      const int lanes = std::min(kLanes, c.outC - o0);
      __m256 v = _mm256_mul_ps(_mm256_loadu_ps(c.alphaPad + o0), sf);
      if (c.bias != nullptr) v = _mm256_add_ps(v, _mm256_loadu_ps(c.biasPad + o0));
      if (c.slope != nullptr) v = prelu8(v, c.slopePad + o0);
      store8(px[p].out + o0, v, lanes);
    }
  }
}

#endif  // BNN_X86

// ---- dispatch of one tile -------------------------------------------------------------------

template <int PX>
void tile(int isa, bool masked, const Call& c, const Px* px, int ob, bool popcnt) {
  (void)isa;  // used by the x86 paths only
  (void)masked;
#if BNN_X86
  if (isa == kAvx512) {
    // Two blocks (16 channels) at a time where two remain.
    if (ob + 1 < c.blocks) {
      masked ? tileAvx512<PX, 2, true>(c, px, ob) : tileAvx512<PX, 2, false>(c, px, ob);
    } else {
      masked ? tileAvx512<PX, 1, true>(c, px, ob) : tileAvx512<PX, 1, false>(c, px, ob);
    }
  } else if (isa == kAvx2) {
    masked ? tileAvx2<PX, true>(c, px, ob) : tileAvx2<PX, false>(c, px, ob);
  } else
#endif
  if (popcnt) {
    masked ? tilePopcnt<PX, true>(c, px, ob) : tilePopcnt<PX, false>(c, px, ob);
  } else {
    masked ? tileGeneric<PX, true>(c, px, ob) : tileGeneric<PX, false>(c, px, ob);
  }
}

int blockStep(int isa, int ob, int blocks) { return isa == kAvx512 && ob + 1 < blocks ? 2 : 1; }

// ---- packing --------------------------------------------------------------------------------

// Per-channel sign thresholds (engine.ts SignThresholds), de-interleaved; absent: sign of x.
struct Thr {
  std::vector<float> s, lo, hi;
};

// Signs channels [from, end) of one pixel (all in the word starting at channel c0) into b
// (bit = negative) and m (bit = non-zero). Mirrors the wasm engine's pack functions, NaN
// included: without thresholds bit = x < 0, nz = x != 0; with them y = s*x, bit = y < lo,
// nz = bit | y >= hi.
inline void packChannels(const float* x, int from, int end, const Thr* t, int c0, uint64_t& b, uint64_t& m) {
  for (int ch = from; ch < end; ++ch) {
    bool neg, nz;
    if (t == nullptr) {
      neg = x[ch] < 0.0f;
      nz = x[ch] != 0.0f;
    } else {
      const float y = x[ch] * t->s[ch];
      neg = y < t->lo[ch];
      nz = neg || y >= t->hi[ch];
    }
    b |= static_cast<uint64_t>(neg) << (ch - c0);
    m |= static_cast<uint64_t>(nz) << (ch - c0);
  }
}

// The mask bits of the word at channel c0 that hold real channels.
inline uint64_t validBits(int c0, int end) { return end - c0 == 64 ? ~0ull : (1ull << (end - c0)) - 1; }

// Signs one pixel's c floats into words and mask; returns whether some real channel is 0.
bool packPixel(const float* x, int c, const Thr* t, uint64_t* bits, uint64_t* mask) {
  bool zero = false;
  for (int c0 = 0; c0 < c; c0 += 64) {
    uint64_t b = 0, m = 0;
    const int end = std::min(c, c0 + 64);
    packChannels(x, c0, end, t, c0, b, m);
    zero |= m != validBits(c0, end);
    bits[c0 >> 6] = b;
    if (mask != nullptr) mask[c0 >> 6] = m;
  }
  return zero;
}

#if BNN_X86
// The same 16 channels at a time with vcmpps into a mask register.
BNN_AVX512 bool packPixel512(const float* x, int c, const Thr* t, uint64_t* bits, uint64_t* mask) {
  bool zero = false;
  const __m512 z = _mm512_setzero_ps();
  if (t == nullptr && mask == nullptr) {  // plus_one without thresholds, the common case: the sign bits alone
    for (int c0 = 0; c0 < c; c0 += 64) {
      uint64_t b = 0;
      for (int q = 0; q < 64 && c0 + q < c; q += 16) {
        const int ch = c0 + q;
        const __mmask16 valid = c - ch >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (c - ch)) - 1);
        b |= static_cast<uint64_t>(_mm512_mask_cmp_ps_mask(valid, _mm512_maskz_loadu_ps(valid, x + ch), z, _CMP_LT_OQ)) << q;
      }
      bits[c0 >> 6] = b;
    }
    return false;
  }
  for (int c0 = 0; c0 < c; c0 += 64) {
    uint64_t b = 0, m = 0;
    for (int q = 0; q < 64 && c0 + q < c; q += 16) {
      const int ch = c0 + q;
      const __mmask16 valid = c - ch >= 16 ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << (c - ch)) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(valid, x + ch);
      __mmask16 neg, nz;
      if (t == nullptr) {
        neg = _mm512_mask_cmp_ps_mask(valid, v, z, _CMP_LT_OQ);
        nz = _mm512_mask_cmp_ps_mask(valid, v, z, _CMP_NEQ_UQ);
      } else {
        const __m512 y = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(valid, t->s.data() + ch));
        neg = _mm512_mask_cmp_ps_mask(valid, y, _mm512_maskz_loadu_ps(valid, t->lo.data() + ch), _CMP_LT_OQ);
        nz = neg | _mm512_mask_cmp_ps_mask(valid, y, _mm512_maskz_loadu_ps(valid, t->hi.data() + ch), _CMP_GE_OQ);
      }
      b |= static_cast<uint64_t>(neg) << q;
      m |= static_cast<uint64_t>(nz) << q;
      zero |= nz != valid;
    }
    bits[c0 >> 6] = b;
    if (mask != nullptr) mask[c0 >> 6] = m;
  }
  return zero;
}

// The same 8 channels at a time with vcmpps + vmovmskps (the scalar loop took about a third of
// the AVX2 path's time on the shape). Same predicates, so NaN packs as packPixel does:
// LT_OQ is false for NaN, NEQ_UQ true. Channels past the last multiple of 8 go through
// packChannels.
BNN_AVX2 bool packPixel256(const float* x, int c, const Thr* t, uint64_t* bits, uint64_t* mask) {
  bool zero = false;
  const __m256 z = _mm256_setzero_ps();
  for (int c0 = 0; c0 < c; c0 += 64) {
    uint64_t b = 0, m = 0;
    const int end = std::min(c, c0 + 64);
    int ch = c0;
    for (; ch + 8 <= end; ch += 8) {
      const __m256 v = _mm256_loadu_ps(x + ch);
      __m256 neg, nz;
      if (t == nullptr) {
        neg = _mm256_cmp_ps(v, z, _CMP_LT_OQ);
        nz = _mm256_cmp_ps(v, z, _CMP_NEQ_UQ);
      } else {
        const __m256 y = _mm256_mul_ps(v, _mm256_loadu_ps(t->s.data() + ch));
        neg = _mm256_cmp_ps(y, _mm256_loadu_ps(t->lo.data() + ch), _CMP_LT_OQ);
        nz = _mm256_or_ps(neg, _mm256_cmp_ps(y, _mm256_loadu_ps(t->hi.data() + ch), _CMP_GE_OQ));
      }
      b |= static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_ps(neg))) << (ch - c0);
      m |= static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_ps(nz))) << (ch - c0);
    }
    packChannels(x, ch, end, t, c0, b, m);
    zero |= m != validBits(c0, end);
    bits[c0 >> 6] = b;
    if (mask != nullptr) mask[c0 >> 6] = m;
  }
  return zero;
}

#endif  // BNN_X86

constexpr int kPrefetch = 8;  // pixels ahead

// Packs every input pixel into the padded planes (zeroed by the caller); returns whether some
// input is 0 (only asked for, and the mask only written, when `mask` is non-null).
bool packAll(const Call& c, const float* x, const Thr* t, uint64_t* bits, uint64_t* mask, int isa) {
  (void)isa;  // x86 only
  int zero = 0;
  const int rows = c.n * c.h;
#pragma omp parallel for schedule(static) reduction(| : zero)
  for (int r = 0; r < rows; ++r) {
    const int n = r / c.h, iy = r % c.h;
    for (int ix = 0; ix < c.w; ++ix) {
      const float* src = x + ((static_cast<int64_t>(n) * c.h + iy) * c.w + ix) * c.inStride;
      // A channel slice of a wider buffer (a block's branch input) is not one sequential stream
      // and the hardware prefetchers left the strided pack 3x slower than the dense one here:
      // fetch the slice kPrefetch pixels ahead (inside the input; past the row is fine).
      if (c.inStride != c.c && (static_cast<int64_t>(r) * c.w + ix + kPrefetch) < static_cast<int64_t>(rows) * c.w) {
        for (int ch = 0; ch < c.c; ch += 16) __builtin_prefetch(src + kPrefetch * c.inStride + ch);
      }
      const int64_t dst = ((static_cast<int64_t>(n) * c.hp + iy + c.padTop) * c.wp + ix + c.padLeft) * c.words;
#if BNN_X86
      uint64_t* m = mask == nullptr ? nullptr : mask + dst;
      const bool z = isa == kAvx512 ? packPixel512(src, c.c, t, bits + dst, m)
                     : isa == kAvx2 ? packPixel256(src, c.c, t, bits + dst, m)
                                    : packPixel(src, c.c, t, bits + dst, m);
#else
      const bool z = packPixel(src, c.c, t, bits + dst, mask == nullptr ? nullptr : mask + dst);
#endif
      zero |= z ? 1 : 0;
    }
  }
  return zero != 0;
}

// ---- padding correction and the output walk -------------------------------------------------

// Padding taps of output row oy (or column): missing at the start and at the end.
std::pair<int, int> border(int o, int stride, int pad, int k, int in) {
  const int i0 = o * stride - pad;
  return {std::max(0, -i0), std::max(0, i0 + k - in)};
}

// corr tables per (row pattern, column pattern), [blocks*8] int32 each; index per oy and ox.
struct Corrections {
  std::vector<int32_t> table;
  std::vector<int> rowOf, colOf;
  int cols = 0, width = 0;
  const int32_t* at(int oy, int ox) const { return table.data() + (static_cast<int64_t>(rowOf[oy]) * cols + colOf[ox]) * width; }
};

std::vector<int> patterns(int count, int stride, int pad, int k, int in, std::vector<std::pair<int, int>>& seen) {
  std::vector<int> of(count);
  for (int o = 0; o < count; ++o) {
    const auto b = border(o, stride, pad, k, in);
    auto it = std::find(seen.begin(), seen.end(), b);
    of[o] = static_cast<int>(it - seen.begin());
    if (it == seen.end()) seen.push_back(b);
  }
  return of;
}

Corrections corrections(const Call& c, bool masked) {
  Corrections r;
  std::vector<std::pair<int, int>> rows, cols;
  r.rowOf = patterns(c.outH, c.stride, c.padTop, c.kh, c.h, rows);
  r.colOf = patterns(c.outW, c.stride, c.padLeft, c.kw, c.w, cols);
  r.cols = static_cast<int>(cols.size());
  r.width = c.blocks * kLanes;
  r.table.assign(rows.size() * cols.size() * r.width, 0);
  if (masked) return r;  // padding has mask 0: nothing to correct
  for (size_t ri = 0; ri < rows.size(); ++ri) {
    for (size_t ci = 0; ci < cols.size(); ++ci) {
      int32_t* corr = r.table.data() + (ri * cols.size() + ci) * r.width;
      const auto [top, bottom] = rows[ri];
      const auto [left, right] = cols[ci];
      for (int o = 0; o < c.outC; ++o) {
        int32_t s = 0;
        for (int ky = 0; ky < c.kh; ++ky)
          for (int kx = 0; kx < c.kw; ++kx)
            if (ky < top || ky >= c.kh - bottom || kx < left || kx >= c.kw - right) s += c.tapSums[o * c.kh * c.kw + ky * c.kw + kx];
        corr[o] = s;
      }
    }
  }
  return r;
}

int32_t maskBase(const Call& c, const uint64_t* m) {
  int32_t s = 0;
  const int rowLen = c.kw * c.words;
  for (int ky = 0; ky < c.kh; ++ky)
    for (int j = 0; j < rowLen; ++j) s += __builtin_popcountll(m[ky * rowStride(c) + j]);
  return s;
}

// add256's scalar twin, the same float32 adds.
void addScalar(const float* a, const float* r, float* d, int n) {
  for (int o = 0; o < n; ++o) d[o] = a[o] + r[o];
}

// One output row's sum = concat(parts, y) + res, pixel by pixel: the block's Concatenate and
// Add in one pass over contiguous rows of the block's output and residual (a pass per branch
// into its channel slice took about as long as the two separate layers: strided partial visits
// of a 4 MB buffer, three times), while y, this row's output of the last branch, is in L1.
void sumRow(const Call& c, int64_t pixel0, const float* y, int64_t yStride, int isa) {
  using AddFn = void (*)(const float*, const float*, float*, int);
#if BNN_X86
  const AddFn add = isa == kScalar ? addScalar : add256;
#else
  const AddFn add = addScalar;
#endif
  for (int p = 0; p < c.outW; ++p) {
    const int64_t at = (pixel0 + p) * c.sumStride;
    int off = 0;
    for (int j = 0; j < c.nParts; ++j) {
      add(c.parts[j] + (pixel0 + p) * c.partCh[j], c.res + at + off, c.sum + at + off, c.partCh[j]);
      off += c.partCh[j];
    }
    add(y + p * yStride, c.res + at + off, c.sum + at + off, c.outC);
  }
}

// Every output row in parallel: tiles of kPx pixels (then single ones) x the filter blocks; with
// a sum, the row's residual add right after (y in a per-thread row buffer where there is no out).
void walk(const Call& c, const Corrections& corr, int isa) {
  const bool masked = c.xm != nullptr;
#if BNN_X86
  const bool popcnt = __builtin_cpu_supports("popcnt");
#else
  const bool popcnt = false;
#endif
  const int32_t fullBase = c.kh * c.kw * c.c;
  const int rows = c.n * c.outH;
#pragma omp parallel for schedule(static)
  for (int r = 0; r < rows; ++r) {
    const int n = r / c.outH, oy = r % c.outH;
    const int64_t pixel0 = static_cast<int64_t>(r) * c.outW;
    thread_local std::vector<float> rowBuf;
    if (c.out == nullptr && rowBuf.size() < static_cast<size_t>(c.outW) * c.outC) rowBuf.resize(static_cast<size_t>(c.outW) * c.outC);
    float* const rowOut = c.out == nullptr ? rowBuf.data() : c.out + pixel0 * c.outStride;
    const int64_t outStride = c.out == nullptr ? c.outC : c.outStride;
    for (int ox0 = 0; ox0 < c.outW; ox0 += kPx) {
      const int count = std::min(kPx, c.outW - ox0);
      Px px[kPx];
      for (int i = 0; i < count; ++i) {
        const int ox = ox0 + i;
        const int64_t at = ((static_cast<int64_t>(n) * c.hp + static_cast<int64_t>(oy) * c.stride) * c.wp + static_cast<int64_t>(ox) * c.stride) * c.words;
        px[i].x = c.xb + at;
        px[i].m = masked ? c.xm + at : nullptr;
        px[i].base = masked ? maskBase(c, px[i].m) : fullBase;
        px[i].corr = corr.at(oy, ox);
        px[i].out = rowOut + ox * outStride;
      }
      for (int ob = 0; ob < c.blocks; ob += blockStep(isa, ob, c.blocks)) {
        if (count == kPx) {
          tile<kPx>(isa, masked, c, px, ob, popcnt);
        } else {
          for (int i = 0; i < count; ++i) tile<1>(isa, masked, c, px + i, ob, popcnt);
        }
      }
    }
    if (c.sum != nullptr) sumRow(c, pixel0, rowOut, outStride, isa);
  }
}

// ---- the exported functions -----------------------------------------------------------------

template <typename T>
T* typed(const Napi::Value& v, size_t count, const char* what) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), std::string("binaryConv: ") + what + " must be a typed array");
  auto a = v.As<Napi::TypedArray>();
  if (a.ByteLength() < count * sizeof(T)) throw Napi::RangeError::New(v.Env(), std::string("binaryConv: ") + what + " is too short");
  return reinterpret_cast<T*>(static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset());
}

// binaryConvPrepare(bits Uint32Array [O][kh][kw][ceil(C/32)], kh, kw, C, O) -> ArrayBuffer:
// the filter as [ceil(O/8)][kh*kw*ceil(C/64)][8] u64 (channel and output padding clear), then
// tapSums int32 [O][kh*kw]. Made once per filter bank (the engine caches it).
Napi::Value Prepare(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int kh = info[1].As<Napi::Number>().Int32Value(), kw = info[2].As<Napi::Number>().Int32Value();
  const int cin = info[3].As<Napi::Number>().Int32Value(), cout = info[4].As<Napi::Number>().Int32Value();
  if (kh < 1 || kw < 1 || cin < 1 || cout < 1) throw Napi::RangeError::New(env, "binaryConvPrepare: bad shape");
  const int w32 = (cin + 31) / 32, w64 = (cin + 63) / 64, taps = kh * kw, blocks = (cout + kLanes - 1) / kLanes;
  const int64_t K = static_cast<int64_t>(taps) * w64;
  const uint32_t* bits = typed<uint32_t>(info[0], static_cast<size_t>(cout) * taps * w32, "bits");
  const size_t filtBytes = static_cast<size_t>(blocks) * K * kLanes * 8;
  Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, filtBytes + static_cast<size_t>(cout) * taps * 4);
  uint8_t* base = static_cast<uint8_t*>(ab.Data());
  std::memset(base, 0, ab.ByteLength());
  uint64_t* filt = reinterpret_cast<uint64_t*>(base);
  int32_t* tapSums = reinterpret_cast<int32_t*>(base + filtBytes);
  for (int o = 0; o < cout; ++o) {
    for (int t = 0; t < taps; ++t) {
      const uint32_t* src = bits + (static_cast<int64_t>(o) * taps + t) * w32;
      int ones = 0;
      for (int j = 0; j < w32; ++j) ones += __builtin_popcount(src[j]);
      tapSums[o * taps + t] = cin - 2 * ones;
      for (int j = 0; j < w64; ++j) {
        const uint64_t lo = src[2 * j], hi = 2 * j + 1 < w32 ? src[2 * j + 1] : 0;
        filt[((static_cast<int64_t>(o / kLanes) * K) + t * w64 + j) * kLanes + o % kLanes] = lo | (hi << 32);
      }
    }
  }
  return ab;
}

Call readCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[4].IsArray()) throw Napi::TypeError::New(env, "binaryConv: geometry must be an array");
  const Napi::Array g = info[4].As<Napi::Array>();
  if (g.Length() != 12) throw Napi::RangeError::New(env, "binaryConv: geometry has 12 entries");
  Call c{};
  int* f[] = {&c.n, &c.h, &c.w, &c.c, &c.kh, &c.kw, &c.stride, &c.padTop, &c.padLeft, &c.outH, &c.outW, &c.outC};
  for (uint32_t i = 0; i < 12; ++i) *f[i] = static_cast<int>(intAt(g, i));
  if (c.n < 1 || c.h < 1 || c.w < 1 || c.c < 1 || c.kh < 1 || c.kw < 1 || c.stride < 1 || c.padTop < 0 || c.padLeft < 0 ||
      c.outH < 1 || c.outW < 1 || c.outC < 1) {
    throw Napi::RangeError::New(env, "binaryConv: bad geometry");
  }
  c.words = (c.c + 63) / 64;
  c.hp = c.padTop + c.h + std::max(0, (c.outH - 1) * c.stride + c.kh - c.h - c.padTop);
  c.wp = c.padLeft + c.w + std::max(0, (c.outW - 1) * c.stride + c.kw - c.w - c.padLeft);
  c.K = c.kh * c.kw * c.words;
  c.blocks = (c.outC + kLanes - 1) / kLanes;
  if (c.padTop >= c.kh || c.padLeft >= c.kw || (c.outH - 1) * c.stride - c.padTop >= c.h || (c.outW - 1) * c.stride - c.padLeft >= c.w) {
    throw Napi::RangeError::New(env, "binaryConv: geometry reads no input");
  }
  return c;
}

// Floats a buffer of `pixels` pixels of `channels` floats at `stride` must hold: the last
// pixel's slice ends it (so a view starting at a channel offset of a wider buffer fits).
size_t stridedFloats(int64_t pixels, int64_t stride, int channels) { return static_cast<size_t>((pixels - 1) * stride + channels); }

// The optional strides argument of binaryConv: {inStride, outStride, sum, residual, sumStride,
// parts}. Without it every buffer is dense (stride = its channels) and there is no sum; parts
// (with sum only) are dense Float32Arrays [pixels][channels] of earlier outputs, as
// [{data, channels}, ...], that precede y in the sum's concat.
void readParts(const Napi::Value& v, Call& c, int64_t outPixels) {
  Napi::Env env = v.Env();
  if (v.IsNull() || v.IsUndefined()) return;
  if (!v.IsArray()) throw Napi::TypeError::New(env, "binaryConv: strides.parts must be an array");
  const Napi::Array a = v.As<Napi::Array>();
  if (a.Length() > static_cast<uint32_t>(Call::kMaxParts)) throw Napi::RangeError::New(env, "binaryConv: strides.parts has more than 4 entries");
  for (uint32_t i = 0; i < a.Length(); ++i) {
    const Napi::Object part = a.Get(i).As<Napi::Object>();
    const int ch = part.Get("channels").As<Napi::Number>().Int32Value();
    if (ch < 1) throw Napi::RangeError::New(env, "binaryConv: strides.parts channels must be >= 1");
    c.parts[c.nParts] = typed<float>(part.Get("data"), static_cast<size_t>(outPixels) * ch, "strides.parts data");
    c.partCh[c.nParts++] = ch;
    c.partWidth += ch;
  }
}

void readStrides(const Napi::Value& v, Call& c, int64_t outPixels) {
  Napi::Env env = v.Env();
  c.inStride = c.c;
  c.outStride = c.outC;
  c.sumStride = c.outC;
  if (v.IsNull() || v.IsUndefined()) return;
  if (!v.IsObject()) throw Napi::TypeError::New(env, "binaryConv: strides must be an object");
  const Napi::Object o = v.As<Napi::Object>();
  auto stride = [&](const char* key, int64_t min) {
    const Napi::Value s = o.Get(key);
    if (s.IsUndefined()) return min;
    const int64_t n = s.As<Napi::Number>().Int64Value();
    if (n < min) throw Napi::RangeError::New(env, std::string("binaryConv: strides.") + key + " is below the channel count");
    return n;
  };
  c.inStride = stride("inStride", c.c);
  c.outStride = stride("outStride", c.outC);
  const Napi::Value sum = o.Get("sum");
  if (sum.IsNull() || sum.IsUndefined()) return;
  readParts(o.Get("parts"), c, outPixels);
  const int width = c.partWidth + c.outC;
  c.sumStride = stride("sumStride", width);
  c.sum = typed<float>(sum, stridedFloats(outPixels, c.sumStride, width), "strides.sum");
  c.res = typed<float>(o.Get("residual"), stridedFloats(outPixels, c.sumStride, width), "strides.residual");
}

// binaryConv(prepared, x Float32Array NHWC, thresholds Float32Array [C][3] | null, zeroSign,
//            [n, h, w, C, kh, kw, stride, padTop, padLeft, outH, outW, O], alpha, bias | null,
//            out Float32Array | null, isa 0 scalar / 1 avx2 / 2 avx512, slope Float32Array | null,
//            strides {inStride, outStride, sum, residual, sumStride, parts} | null)
//            -> {isa, masked}; with slope, each output is prelu(alpha*S (+ bias), slope_o) (a fused PReLU).
// With strides, x and out are channel slices of wider buffers (pixel i at i * stride floats:
// a block's branches read and write their concat in place), and with strides.sum every output
// pixel is also written as concat(parts, y) + residual (the block's concat and residual add;
// out may then be null).
Napi::Value BinaryConv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Call c = readCall(info);
  const int isa = info[8].As<Napi::Number>().Int32Value();
  if (!isaSupported(isa)) throw Napi::RangeError::New(env, "binaryConv: this CPU lacks the requested instruction set");
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(env, "binaryConv: prepared filter must be an ArrayBuffer");
  auto prep = info[0].As<Napi::ArrayBuffer>();
  const size_t filtBytes = static_cast<size_t>(c.blocks) * c.K * kLanes * 8;
  if (prep.ByteLength() != filtBytes + static_cast<size_t>(c.outC) * c.kh * c.kw * 4) {
    throw Napi::RangeError::New(env, "binaryConv: prepared filter does not match the geometry");
  }
  c.filt = static_cast<const uint64_t*>(prep.Data());
  c.tapSums = reinterpret_cast<const int32_t*>(static_cast<const uint8_t*>(prep.Data()) + filtBytes);
  const int64_t inPixels = static_cast<int64_t>(c.n) * c.h * c.w, outPixels = static_cast<int64_t>(c.n) * c.outH * c.outW;
  readStrides(info[10], c, outPixels);
  const float* x = typed<float>(info[1], stridedFloats(inPixels, c.inStride, c.c), "x");
  const bool zeroSign = info[3].ToBoolean();
  Thr thr;
  const bool hasThr = !info[2].IsNull() && !info[2].IsUndefined();
  if (hasThr) {
    const float* t = typed<float>(info[2], static_cast<size_t>(3) * c.c, "thresholds");
    for (int ch = 0; ch < c.c; ++ch) {
      thr.s.push_back(t[3 * ch]);
      thr.lo.push_back(t[3 * ch + 1]);
      thr.hi.push_back(t[3 * ch + 2]);
    }
  }
  c.alpha = typed<float>(info[5], c.outC, "alpha");
  c.bias = info[6].IsNull() || info[6].IsUndefined() ? nullptr : typed<float>(info[6], c.outC, "bias");
  if (info[7].IsNull() || info[7].IsUndefined()) {
    if (c.sum == nullptr) throw Napi::TypeError::New(env, "binaryConv: out is null and there is no strides.sum");
    c.out = nullptr;
  } else {
    c.out = typed<float>(info[7], stridedFloats(outPixels, c.outStride, c.outC), "out");
  }
  std::vector<float> alphaPad(static_cast<size_t>(c.blocks) * kLanes, 0.0f), biasPad(alphaPad.size(), 0.0f);
  std::copy(c.alpha, c.alpha + c.outC, alphaPad.begin());
  if (c.bias != nullptr) std::copy(c.bias, c.bias + c.outC, biasPad.begin());
  c.slope = info[9].IsNull() || info[9].IsUndefined() ? nullptr : typed<float>(info[9], c.outC, "slope");
  std::vector<float> slopePad(alphaPad.size(), 0.0f);
  if (c.slope != nullptr) std::copy(c.slope, c.slope + c.outC, slopePad.begin());
  c.alphaPad = alphaPad.data();
  c.biasPad = biasPad.data();
  c.slopePad = slopePad.data();

  const size_t planeWords = static_cast<size_t>(c.n) * c.hp * c.wp * c.words;
  thread_local std::vector<uint64_t> bits, mask;
  bits.assign(planeWords, 0);
  if (zeroSign) mask.assign(planeWords, 0);
  const bool zero = packAll(c, x, hasThr ? &thr : nullptr, bits.data(), zeroSign ? mask.data() : nullptr, isa);
  c.xb = bits.data();
  c.xm = zeroSign && zero ? mask.data() : nullptr;
  walk(c, corrections(c, c.xm != nullptr), isa);
  Napi::Object r = Napi::Object::New(env);
  r.Set("isa", kIsaNames[isa]);
  r.Set("masked", c.xm != nullptr);
  return r;
}

// popcountIsas(): the instruction sets this CPU runs, best first (the default is the first).
Napi::Value Isas(const Napi::CallbackInfo& info) {
  Napi::Array a = Napi::Array::New(info.Env());
  uint32_t i = 0;
  for (int isa = kAvx512; isa >= kScalar; --isa)
    if (isaSupported(isa)) a.Set(i++, kIsaNames[isa]);
  return a;
}

}  // namespace

const Export kPopcountExports[] = {
    {"binaryConvPrepare", Prepare},
    {"binaryConv", BinaryConv},
    {"popcountIsas", Isas},
    {nullptr, nullptr},
};

}  // namespace bnn
