// A datapath worker's own wait: one epoll set over its ports and a wake-up eventfd that the
// agent's thread signals when it posts a message. The worker blocks here, in a plain call from
// its JavaScript loop, instead of returning to libuv and being called back for each readiness:
// no callback scope to enter per wake-up. After traffic it may spin on the set for a while
// (busy polling), so that a frame arriving soon after finds the thread awake.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sched.h>
#include <unistd.h>
#include <cerrno>
#include <algorithm>
#include <cstdint>
#include "vswitch.h"

namespace vswitch {

static const int kMaxEvents = 64;

// A poller still open when its worker is torn down (terminated, or dead of a bug) is closed
// then: the hook's argument is the descriptor itself.
static void ClosePollerAtTeardown(void* fd) { close(static_cast<int>(reinterpret_cast<intptr_t>(fd))); }

// openPoller() -> epoll descriptor, to be closed with closePoller.
static Napi::Value OpenPoller(const Napi::CallbackInfo& info) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(info.Env(), errno, "cannot create an epoll set for a datapath worker");
    return info.Env().Undefined();
  }
  napi_add_env_cleanup_hook(info.Env(), ClosePollerAtTeardown, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  return Napi::Number::New(info.Env(), fd);
}

static Napi::Value ClosePoller(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  napi_remove_env_cleanup_hook(info.Env(), ClosePollerAtTeardown, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  close(fd);
  return info.Env().Undefined();
}

// pollerAdd(poller, fd, token): fd's readability is reported as token.
static Napi::Value PollerAdd(const Napi::CallbackInfo& info) {
  int poller = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  struct epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u32 = info[2].As<Napi::Number>().Uint32Value();
  if (epoll_ctl(poller, EPOLL_CTL_ADD, fd, &event) < 0) ThrowErrno(info.Env(), errno, "cannot watch descriptor " + std::to_string(fd));
  return info.Env().Undefined();
}

// pollerRemove(poller, fd): a descriptor already closed has left the set by itself.
static Napi::Value PollerRemove(const Napi::CallbackInfo& info) {
  int poller = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  epoll_ctl(poller, EPOLL_CTL_DEL, fd, nullptr);
  return info.Env().Undefined();
}

// pollerWait(poller, tokens, timeoutMs, spinUs, readyAt) -> how many tokens were written (0 when
// the timeout passed). Spins up to spinUs first, yielding the core between looks, then blocks for
// what is left of timeoutMs (-1: no limit): a spin never delays the caller's timers.
// readyAt[0] gets when the readiness was seen (monotonicMs).
static Napi::Value PollerWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int poller = info[0].As<Napi::Number>().Int32Value();
  Napi::Int32Array tokens = info[1].As<Napi::Int32Array>();
  int timeoutMs = info[2].As<Napi::Number>().Int32Value();
  double spinUs = info[3].As<Napi::Number>().DoubleValue();
  Napi::Float64Array readyAt = info[4].As<Napi::Float64Array>();
  struct epoll_event events[kMaxEvents];
  int max = static_cast<int>(tokens.ElementLength()) < kMaxEvents ? static_cast<int>(tokens.ElementLength()) : kMaxEvents;
  int n = 0;
  if (spinUs > 0) {
    double start = MonotonicMs();
    double until = start + spinUs / 1000;
    if (timeoutMs >= 0 && start + timeoutMs < until) until = start + timeoutMs;
    while ((n = epoll_wait(poller, events, max, 0)) == 0 && MonotonicMs() < until) sched_yield();
    if (n == 0 && timeoutMs >= 0) timeoutMs = std::max(0, timeoutMs - static_cast<int>(MonotonicMs() - start));
  }
  if (n == 0) {
    do n = epoll_wait(poller, events, max, timeoutMs);
    while (n < 0 && errno == EINTR);
  }
  if (n < 0) {
    ThrowErrno(env, errno, "a datapath worker's wait failed");
    return env.Undefined();
  }
  if (readyAt.ElementLength() > 0) readyAt[0] = MonotonicMs();
  for (int i = 0; i < n; i++) tokens[i] = static_cast<int32_t>(events[i].data.u32);
  return Napi::Number::New(env, n);
}

// openEventFd() -> a non-blocking eventfd: the agent's thread signals, the worker wakes.
static Napi::Value OpenEventFd(const Napi::CallbackInfo& info) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(info.Env(), errno, "cannot create an eventfd to wake a datapath worker");
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), fd);
}

static Napi::Value SignalEventFd(const Napi::CallbackInfo& info) {
  uint64_t one = 1;
  ssize_t written = write(info[0].As<Napi::Number>().Int32Value(), &one, sizeof one);
  (void)written;  // EAGAIN: the counter is full, so the reader wakes anyway
  return info.Env().Undefined();
}

static Napi::Value ClearEventFd(const Napi::CallbackInfo& info) {
  uint64_t count;
  ssize_t got = read(info[0].As<Napi::Number>().Int32Value(), &count, sizeof count);
  (void)got;  // EAGAIN: nothing was signalled
  return info.Env().Undefined();
}

void InitPoller(Napi::Env env, Napi::Object exports) {
  exports.Set("openPoller", Napi::Function::New(env, OpenPoller));
  exports.Set("closePoller", Napi::Function::New(env, ClosePoller));
  exports.Set("pollerAdd", Napi::Function::New(env, PollerAdd));
  exports.Set("pollerRemove", Napi::Function::New(env, PollerRemove));
  exports.Set("pollerWait", Napi::Function::New(env, PollerWait));
  exports.Set("openEventFd", Napi::Function::New(env, OpenEventFd));
  exports.Set("signalEventFd", Napi::Function::New(env, SignalEventFd));
  exports.Set("clearEventFd", Napi::Function::New(env, ClearEventFd));
}

}  // namespace vswitch
