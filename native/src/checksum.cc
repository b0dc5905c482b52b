// The Internet checksum's sum (RFC 1071) over a range of caller memory: the one per-byte loop
// of the fast path (every segment of a super-frame cut for the tunnel needs its TCP checksum),
// eight bytes at a time here, where JavaScript reads one.
#include <cstdint>
#include <cstring>
#include "vswitch.h"

namespace vswitch {

// The one's-complement sum of the 16-bit big-endian words of [at, at + n), folded to 16 bits.
// RFC 1071 §2(B): the sum is independent of byte order, so words are added as the machine
// loads them and the result swapped once (little-endian hosts, as Linux on x86 and arm64).
static uint32_t Sum(const uint8_t* at, size_t n) {
  uint64_t acc = 0;
  for (; n >= 8; at += 8, n -= 8) {
    uint64_t x;
    memcpy(&x, at, 8);
    acc += (x & 0xffffffff) + (x >> 32);
  }
  for (; n >= 2; at += 2, n -= 2) acc += at[0] | (at[1] << 8);
  if (n == 1) acc += at[0];
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return ((acc & 0xff) << 8) | (acc >> 8);
}

// internetSums(bytes, start, end, chunk, sums): chunkSums of src/packet/checksum.ts, one call
// for all the segments of a super-frame.
static Napi::Value InternetSums(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array bytes = info[0].As<Napi::Uint8Array>();
  uint32_t start = info[1].As<Napi::Number>().Uint32Value();
  uint32_t end = info[2].As<Napi::Number>().Uint32Value();
  uint32_t chunk = info[3].As<Napi::Number>().Uint32Value();
  Napi::Uint32Array sums = info[4].As<Napi::Uint32Array>();
  if (start > end || end > bytes.ByteLength() || chunk == 0 || (end - start + chunk - 1) / chunk > sums.ElementLength()) {
    Napi::RangeError::New(env, "internetSums: the range runs past the bytes, or its chunks past the sums").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uint32_t* out = sums.Data();
  for (uint32_t at = start; at < end; at += chunk) *out++ = Sum(bytes.Data() + at, end - at < chunk ? end - at : chunk);
  return env.Undefined();
}

void InitChecksum(Napi::Env env, Napi::Object exports) {
  exports.Set("internetSums", Napi::Function::New(env, InternetSums));
}

}  // namespace vswitch
