// Handing open descriptors to another process over a unix socket (SCM_RIGHTS): how a running
// agent gives the agent that takes over from it its ports' and tunnel's sockets, with whatever
// the kernel has queued on them. The receiver listens on a SOCK_SEQPACKET socket; the giver
// connects and sends messages of at most kFdsPerMessage descriptors and kTextPerMessage bytes
// of a text that describes them, then closes; the receiver reads until that end.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>
#include "vswitch.h"

namespace vswitch {

// The kernel takes at most SCM_MAX_FD (253) descriptors in one message.
static const size_t kFdsPerMessage = 200;
static const size_t kTextPerMessage = 32 * 1024;
// A giver that stops sending mid-way does not hold the receiver longer than this.
static const int kReceiveTimeoutSeconds = 10;

static bool AddressOf(Napi::Env env, const std::string& path, struct sockaddr_un* address) {
  memset(address, 0, sizeof *address);
  address->sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof address->sun_path) {
    ThrowErrno(env, EINVAL, "handover socket path '" + path + "' must be 1 to 107 bytes");
    return false;
  }
  memcpy(address->sun_path, path.c_str(), path.size());
  return true;
}

// listenHandover(path) -> fd: a non-blocking listener at `path` (which must not exist).
static Napi::Value ListenHandover(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  struct sockaddr_un address;
  if (!AddressOf(env, path, &address)) return env.Undefined();
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, errno, "cannot make the handover socket");
    return env.Undefined();
  }
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) < 0 || listen(fd, 1) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "cannot listen for a handover at " + path);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// sendHandover(path, fds, text): connects to the listener at `path` and gives it `fds` and
// `text`; the descriptors stay open here too.
static Napi::Value SendHandover(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  Napi::Array list = info[1].As<Napi::Array>();
  std::string text = info[2].As<Napi::String>();
  std::vector<int> fds(list.Length());
  for (uint32_t i = 0; i < list.Length(); i++) fds[i] = list.Get(i).As<Napi::Number>().Int32Value();
  struct sockaddr_un address;
  if (!AddressOf(env, path, &address)) return env.Undefined();
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, errno, "cannot make the handover socket");
    return env.Undefined();
  }
  if (connect(fd, reinterpret_cast<struct sockaddr*>(&address), sizeof address) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, "cannot reach the agent taking over at " + path);
    return env.Undefined();
  }
  size_t messages = std::max<size_t>({1, (fds.size() + kFdsPerMessage - 1) / kFdsPerMessage, (text.size() + kTextPerMessage - 1) / kTextPerMessage});
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kFdsPerMessage));
  for (size_t m = 0; m < messages; m++) {
    size_t fdStart = std::min(fds.size(), m * kFdsPerMessage);
    size_t fdCount = std::min(fds.size() - fdStart, kFdsPerMessage);
    size_t textStart = std::min(text.size(), m * kTextPerMessage);
    size_t textCount = std::min(text.size() - textStart, kTextPerMessage);
    // A message carries at least one byte: a lone descriptor would otherwise not be sent.
    char empty = 0;
    struct iovec iov = {textCount ? const_cast<char*>(text.data() + textStart) : &empty, textCount ? textCount : 1};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fdCount > 0) {
      msg.msg_control = control.data();
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * fdCount);
      struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fdCount);
      memcpy(CMSG_DATA(cmsg), fds.data() + fdStart, sizeof(int) * fdCount);
    }
    if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0) {
      int err = errno;
      close(fd);
      ThrowErrno(env, err, "the handover to " + path + " failed part way");
      return env.Undefined();
    }
  }
  close(fd);
  return env.Undefined();
}

// receiveHandover(listenFd) -> { fds, text } | null: null while no giver has connected; else
// everything it gave, once it has closed. The descriptors come close-on-exec.
static Napi::Value ReceiveHandover(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int listener = info[0].As<Napi::Number>().Int32Value();
  int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return env.Null();
    ThrowErrno(env, errno, "cannot accept the handover");
    return env.Undefined();
  }
  struct timeval timeout = {kReceiveTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::vector<int> fds;
  std::string text;
  std::vector<char> buffer(kTextPerMessage);
  std::vector<char> control(CMSG_SPACE(sizeof(int) * kFdsPerMessage));
  auto fail = [&](int err, const std::string& message) {
    for (int received : fds) close(received);
    close(fd);
    ThrowErrno(env, err, message);
    return env.Undefined();
  };
  for (;;) {
    struct iovec iov = {buffer.data(), buffer.size()};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return fail(errno, "the handover stopped part way");
    if (n == 0) break;
    for (struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
      if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* given = reinterpret_cast<const int*>(CMSG_DATA(cmsg));
      fds.insert(fds.end(), given, given + count);
    }
    if (msg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) return fail(EMSGSIZE, "a handover message was cut short");
    // A message of descriptors alone carries one byte of nothing.
    if (!(n == 1 && buffer[0] == 0)) text.append(buffer.data(), n);
  }
  close(fd);
  Napi::Array list = Napi::Array::New(env, fds.size());
  for (size_t i = 0; i < fds.size(); i++) list.Set(i, Napi::Number::New(env, fds[i]));
  Napi::Object result = Napi::Object::New(env);
  result.Set("fds", list);
  result.Set("text", Napi::String::New(env, text));
  return result;
}

void InitHandover(Napi::Env env, Napi::Object exports) {
  exports.Set("listenHandover", Napi::Function::New(env, ListenHandover));
  exports.Set("sendHandover", Napi::Function::New(env, SendHandover));
  exports.Set("receiveHandover", Napi::Function::New(env, ReceiveHandover));
}

}  // namespace vswitch
