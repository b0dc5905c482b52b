// Readiness without busy-polling: a uv_poll on the calling thread's own event loop (the
// datapath worker's), so an idle port costs nothing and a busy one wakes its reader.
#include <uv.h>
#include <set>
#include "vswitch.h"

namespace vswitch {

struct Watch {
  uv_poll_t handle;
  napi_env env;
  Napi::FunctionReference callback;
  std::set<Watch*>* owner;
};

// Watches still open when a worker's environment is torn down are closed by this hook.
struct WatchSet {
  std::set<Watch*> open;
};

static void FreeWatch(uv_handle_t* handle) { delete static_cast<Watch*>(handle->data); }

static void CloseWatch(Watch* watch) {
  watch->owner->erase(watch);
  watch->callback.Reset();
  uv_poll_stop(&watch->handle);
  uv_close(reinterpret_cast<uv_handle_t*>(&watch->handle), FreeWatch);
}

static void OnReady(uv_poll_t* handle, int status, int events) {
  Watch* watch = static_cast<Watch*>(handle->data);
  Napi::Env env(watch->env);
  Napi::HandleScope scope(env);
  // status < 0 (POLLERR on a vanished device) still wakes the reader: its receive returns the
  // errno and the port goes down with a reason.
  // The readiness's time: what waking this thread took is told apart from what entering the
  // callback takes.
  napi_value recv = env.Global();
  napi_value readyAt = Napi::Number::New(env, MonotonicMs());
  napi_value result;
  napi_status st = napi_make_callback(env, nullptr, recv, watch->callback.Value(), 1, &readyAt, &result);
  if (st == napi_pending_exception) {
    napi_value error;
    napi_get_and_clear_last_exception(env, &error);
    napi_fatal_exception(env, error);
  }
}

// watch(fd, callback) -> handle: calls callback(readyAt) whenever fd is readable, with the time
// (monotonicMs) its readiness was seen.
static Napi::Value WatchFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  uv_loop_t* loop;
  napi_get_uv_event_loop(env, &loop);
  Watch* watch = new Watch();
  watch->env = env;
  watch->callback = Napi::Persistent(info[1].As<Napi::Function>());
  watch->owner = &env.GetInstanceData<WatchSet>()->open;
  watch->handle.data = watch;
  int rc = uv_poll_init(loop, &watch->handle, fd);
  if (rc == 0) rc = uv_poll_start(&watch->handle, UV_READABLE, OnReady);
  if (rc != 0) {
    watch->callback.Reset();
    delete watch;
    ThrowErrno(env, -rc, "cannot watch descriptor " + std::to_string(fd));
    return env.Undefined();
  }
  watch->owner->insert(watch);
  return Napi::External<Watch>::New(env, watch);
}

// unwatch(handle): stops the callbacks; safe to call from inside one.
static Napi::Value Unwatch(const Napi::CallbackInfo& info) {
  Watch* watch = info[0].As<Napi::External<Watch>>().Data();
  if (watch->owner->count(watch)) CloseWatch(watch);
  return info.Env().Undefined();
}

static void CloseAll(Napi::Env, WatchSet* set, void*) {
  while (!set->open.empty()) CloseWatch(*set->open.begin());
  delete set;
}

void InitReadiness(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData<WatchSet, void, CloseAll>(new WatchSet(), nullptr);
  exports.Set("watch", Napi::Function::New(env, WatchFd));
  exports.Set("unwatch", Napi::Function::New(env, Unwatch));
}

}  // namespace vswitch
