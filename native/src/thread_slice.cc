// The calling thread's slice under the kernel's fair scheduler (EEVDF: per-thread slices since
// Linux 6.12, through sched_setattr's sched_runtime). A thread with a short slice gets an early
// deadline when it wakes, so it preempts a thread that is running out a longer slice on its
// core instead of waiting up to that slice (1.4 ms here); it gets no more CPU than its share.
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cerrno>
#include <cstdint>
#include "vswitch.h"

namespace vswitch {

// struct sched_attr of the kernel's ABI (glibc has no wrapper for these calls).
struct SchedAttr {
  uint32_t size;
  uint32_t policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime;
  uint64_t deadline;
  uint64_t period;
  uint32_t util_min;
  uint32_t util_max;
};

constexpr uint64_t kResetOnFork = 0x01;

// setThreadSlice(us): asks for a slice of `us` µs (0: leave the kernel's default), keeping the
// thread's policy and nice; returns the slice the thread then has in µs, 0 when the kernel keeps
// none for it (before 6.12, or a real-time policy), or -errno when it cannot be read.
static Napi::Value SetThreadSlice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const int64_t us = info[0].As<Napi::Number>().Int64Value();
  SchedAttr attr{};
  if (syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) return Napi::Number::New(env, -errno);
  if (us > 0 && (attr.policy == SCHED_OTHER || attr.policy == SCHED_BATCH)) {
    attr.size = sizeof attr;
    attr.flags &= kResetOnFork;
    attr.runtime = static_cast<uint64_t>(us) * 1000;
    // Refused (a kernel that checks the field, a sandbox): the slice read below says so.
    syscall(SYS_sched_setattr, 0, &attr, 0);
    if (syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) return Napi::Number::New(env, -errno);
  }
  const bool fair = attr.policy == SCHED_OTHER || attr.policy == SCHED_BATCH;
  return Napi::Number::New(env, fair ? static_cast<double>(attr.runtime / 1000) : 0);
}

void InitThreadSlice(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreadSlice", Napi::Function::New(env, SetThreadSlice));
}

}  // namespace vswitch
