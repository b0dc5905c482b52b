// The calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID): what one piece of work cost its
// thread, without the time the machine gave other threads and processes meanwhile.
#include <ctime>
#include "vswitch.h"

namespace vswitch {

static Napi::Value ThreadCpuMs(const Napi::CallbackInfo& info) {
  timespec now;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return Napi::Number::New(info.Env(), static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6);
}

void InitThreadClock(Napi::Env env, Napi::Object exports) {
  exports.Set("threadCpuMs", Napi::Function::New(env, ThreadCpuMs));
}

}  // namespace vswitch
