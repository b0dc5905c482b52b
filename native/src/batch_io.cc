// Batched frame I/O into caller-provided memory: one call moves a whole batch, so the
// JavaScript side pays one crossing per batch, not per frame. Packet sockets use
// recvmmsg/sendmmsg; a tap is a character device, so it is read() and write() in a loop.
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cerrno>
#include "vswitch.h"

namespace vswitch {

static const uint32_t kMaxBatch = 256;

static bool ArenaOf(const Napi::CallbackInfo& info, int arg, uint8_t** data, size_t* size) {
  Napi::Uint8Array arena = info[arg].As<Napi::Uint8Array>();
  *data = arena.Data();
  *size = arena.ByteLength();
  return true;
}

// recvBatch(fd, isTap, arena, base, slotBytes, max, lens) -> frames received, or -errno when
// the first receive fails (EAGAIN reads as 0). Frame i lands at arena[base + i*slotBytes];
// lens[i] is its length, or 0 when it did not fit in the slot (the caller counts the drop).
static Napi::Value RecvBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool isTap = info[1].ToBoolean();
  uint8_t* arena;
  size_t arenaBytes;
  ArenaOf(info, 2, &arena, &arenaBytes);
  uint32_t base = info[3].As<Napi::Number>().Uint32Value();
  uint32_t slot = info[4].As<Napi::Number>().Uint32Value();
  uint32_t max = info[5].As<Napi::Number>().Uint32Value();
  Napi::Uint32Array lensArray = info[6].As<Napi::Uint32Array>();
  uint32_t* lens = lensArray.Data();
  if (max > kMaxBatch) max = kMaxBatch;
  if (max > lensArray.ElementLength()) max = lensArray.ElementLength();
  if (slot == 0 || base + static_cast<size_t>(max) * slot > arenaBytes) {
    Napi::RangeError::New(env, "recvBatch: slots run past the end of the arena").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (isTap) {
    uint32_t n = 0;
    for (; n < max; n++) {
      ssize_t got = read(fd, arena + base + static_cast<size_t>(n) * slot, slot);
      if (got < 0) {
        if (n == 0) return Napi::Number::New(env, errno == EAGAIN ? 0 : -errno);
        break;
      }
      lens[n] = static_cast<uint32_t>(got);
    }
    return Napi::Number::New(env, n);
  }
  struct mmsghdr msgs[kMaxBatch];
  struct iovec iovs[kMaxBatch];
  for (uint32_t i = 0; i < max; i++) {
    iovs[i].iov_base = arena + base + static_cast<size_t>(i) * slot;
    iovs[i].iov_len = slot;
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(fd, msgs, max, MSG_DONTWAIT, nullptr);
  if (n < 0) return Napi::Number::New(env, errno == EAGAIN ? 0 : -errno);
  for (int i = 0; i < n; i++) lens[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len;
  return Napi::Number::New(env, n);
}

// sendBatch(fd, isTap, arena, offsets, lens, start, count) -> frames sent, or -errno when the
// first send fails. Frame i is arena[offsets[start+i] .. +lens[start+i]].
static Napi::Value SendBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool isTap = info[1].ToBoolean();
  uint8_t* arena;
  size_t arenaBytes;
  ArenaOf(info, 2, &arena, &arenaBytes);
  Napi::Uint32Array offsetsArray = info[3].As<Napi::Uint32Array>();
  Napi::Uint32Array lensArray = info[4].As<Napi::Uint32Array>();
  uint32_t start = info[5].As<Napi::Number>().Uint32Value();
  uint32_t count = info[6].As<Napi::Number>().Uint32Value();
  if (count > kMaxBatch) count = kMaxBatch;
  if (start + count > offsetsArray.ElementLength() || start + count > lensArray.ElementLength()) {
    Napi::RangeError::New(env, "sendBatch: batch runs past its offsets or lengths").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint32_t* offsets = offsetsArray.Data() + start;
  const uint32_t* lens = lensArray.Data() + start;
  for (uint32_t i = 0; i < count; i++) {
    if (static_cast<size_t>(offsets[i]) + lens[i] > arenaBytes) {
      Napi::RangeError::New(env, "sendBatch: a frame runs past the end of the arena").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  if (isTap) {
    uint32_t n = 0;
    for (; n < count; n++) {
      if (write(fd, arena + offsets[n], lens[n]) < 0) {
        if (n == 0) return Napi::Number::New(env, -errno);
        break;
      }
    }
    return Napi::Number::New(env, n);
  }
  struct mmsghdr msgs[kMaxBatch];
  struct iovec iovs[kMaxBatch];
  for (uint32_t i = 0; i < count; i++) {
    iovs[i].iov_base = arena + offsets[i];
    iovs[i].iov_len = lens[i];
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  int n = sendmmsg(fd, msgs, count, MSG_DONTWAIT);
  return Napi::Number::New(env, n < 0 ? -errno : n);
}

void InitBatchIo(Napi::Env env, Napi::Object exports) {
  exports.Set("recvBatch", Napi::Function::New(env, RecvBatch));
  exports.Set("sendBatch", Napi::Function::New(env, SendBatch));
  exports.Set("maxBatch", Napi::Number::New(env, kMaxBatch));
}

}  // namespace vswitch
