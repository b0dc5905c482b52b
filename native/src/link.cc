// Interface state through ioctls on a throw-away socket: existence, index, up/running.
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include "vswitch.h"

namespace vswitch {

static bool NameFits(const std::string& name) { return !name.empty() && name.size() < IFNAMSIZ; }

// linkState(name) -> {index, up, running} or null when the interface does not exist.
static Napi::Value LinkState(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  if (!NameFits(name)) return env.Null();
  unsigned index = if_nametoindex(name.c_str());
  if (index == 0) return env.Null();
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) {
    ThrowErrno(env, errno, "cannot open a socket to read the state of interface " + name);
    return env.Undefined();
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  int rc = ioctl(sock, SIOCGIFFLAGS, &ifr);
  int err = errno;
  close(sock);
  if (rc < 0) return err == ENODEV ? env.Null() : Napi::Value(Napi::Number::New(env, -err));
  Napi::Object state = Napi::Object::New(env);
  state.Set("index", Napi::Number::New(env, index));
  state.Set("up", Napi::Boolean::New(env, (ifr.ifr_flags & IFF_UP) != 0));
  state.Set("running", Napi::Boolean::New(env, (ifr.ifr_flags & IFF_RUNNING) != 0));
  return state;
}

// setLinkUp(name): the administrative up of `ip link set NAME up`, for taps the switch creates.
static Napi::Value SetLinkUp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  int rc = sock < 0 ? -1 : ioctl(sock, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP;
    rc = ioctl(sock, SIOCSIFFLAGS, &ifr);
  }
  int err = errno;
  if (sock >= 0) close(sock);
  if (rc < 0) ThrowErrno(env, err, "cannot set interface " + name + " up");
  return env.Undefined();
}

void InitLink(Napi::Env env, Napi::Object exports) {
  exports.Set("linkState", Napi::Function::New(env, LinkState));
  exports.Set("setLinkUp", Napi::Function::New(env, SetLinkUp));
}

}  // namespace vswitch
