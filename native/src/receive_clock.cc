// When a frame reached the host: the kernel stamps every received packet (SO_TIMESTAMPNS, on
// the wall clock) and this turns the stamp into the datapath's own clock, CLOCK_MONOTONIC in
// milliseconds, as performance.now() counts it (from another origin, which the caller learns
// once from monotonicMs). So a frame's time from the wire to its send can be told apart from
// the wall clock's steps.
#include <cmath>
#include <ctime>
#include "vswitch.h"

namespace vswitch {

static double Ms(const timespec& t) { return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6; }

double MonotonicMs() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return Ms(now);
}

ReceiveClock::ReceiveClock() {
  timespec real, monotonic;
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_MONOTONIC, &monotonic);
  realToMonotonic_ = Ms(monotonic) - Ms(real);
}

double ReceiveClock::StampOf(struct msghdr* msg) const {
  for (struct cmsghdr* c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec stamp;
    memcpy(&stamp, CMSG_DATA(c), sizeof stamp);
    return Ms(stamp) + realToMonotonic_;
  }
  return NAN;
}

double ReceiveClock::StampAt(uint32_t seconds, uint32_t nanoseconds) const {
  return static_cast<double>(seconds) * 1e3 + static_cast<double>(nanoseconds) / 1e6 + realToMonotonic_;
}

static Napi::Value MonotonicMsValue(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), MonotonicMs()); }

void InitReceiveClock(Napi::Env env, Napi::Object exports) {
  exports.Set("monotonicMs", Napi::Function::New(env, MonotonicMsValue));
}

}  // namespace vswitch
