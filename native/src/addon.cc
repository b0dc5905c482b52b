// Entry point of the addon: tap and AF_PACKET sockets, batched frame I/O, a worker's poller, the
// tunnel's UDP socket, the Internet checksum's sum, handing descriptors to a successor, and a
// thread's CPU clock and scheduler slice.
#include <cerrno>
#include <cstring>
#include "vswitch.h"

namespace vswitch {

static const char* ErrnoName(int err) {
  switch (err) {
    case EPERM: return "EPERM";
    case EACCES: return "EACCES";
    case ENOENT: return "ENOENT";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EBUSY: return "EBUSY";
    case EINVAL: return "EINVAL";
    case EEXIST: return "EEXIST";
    case ENETDOWN: return "ENETDOWN";
    case EBADFD: return "EBADFD";
    case EBADF: return "EBADF";
    case EMFILE: return "EMFILE";
    case ENOMEM: return "ENOMEM";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EMSGSIZE: return "EMSGSIZE";
    case EAGAIN: return "EAGAIN";
    default: return "EIO";
  }
}

void ThrowErrno(Napi::Env env, int err, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message + " (" + strerror(err) + ")");
  error.Set("code", Napi::String::New(env, ErrnoName(err)));
  error.Set("errno", Napi::Number::New(env, err));
  error.ThrowAsJavaScriptException();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitLink(env, exports);
  InitSockets(env, exports);
  InitBatchIo(env, exports);
  InitUdp(env, exports);
  InitChecksum(env, exports);
  InitHandover(env, exports);
  InitThreadClock(env, exports);
  InitThreadSlice(env, exports);
  InitReceiveClock(env, exports);
  InitPoller(env, exports);
  InitReceiveRing(env, exports);
  return exports;
}

}  // namespace vswitch

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return vswitch::Init(env, exports); }

NODE_API_MODULE(vswitch_native, InitAddon)
