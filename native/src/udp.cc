// The tunnel's socket: UDP on the host's underlay address (VXLAN, RFC 7348: port 4789), moved
// in batches with recvmmsg/sendmmsg like the ports, each datagram with its peer's address.
// Received datagrams land in the same slot layout as frames (a zeroed 10-byte vnet header,
// then the datagram: the VXLAN header and the inner frame).
// UDP GSO and GRO (Linux 4.18 and 5.0): one send carries a run of equal-sized datagrams that
// the kernel cuts apart as late as it can, and one receive returns a run of datagrams from one
// sender that the kernel kept together, with their size; the per-datagram cost of a socket is
// what otherwise bounds a tunnel in userspace.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include "vswitch.h"

namespace vswitch {

static const uint32_t kMaxUdpBatch = 256;
static const uint32_t kSlotHeaderBytes = 10;
static const int kUdpBufferBytes = 8 << 20;

// Room for one control message of a segment size (UDP_SEGMENT's uint16, UDP_GRO's int), and a
// received datagram's timestamp.
union SegmentControl {
  char bytes[CMSG_SPACE(sizeof(int)) + ReceiveClock::kControlBytes];
  struct cmsghdr align;
};

// openUdp(address, port) -> fd of a non-blocking UDP socket bound to address:port (IPv4).
static Napi::Value OpenUdp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string address = info[0].As<Napi::String>().Utf8Value();
  uint32_t port = info[1].As<Napi::Number>().Uint32Value();
  struct sockaddr_in where = {};
  where.sin_family = AF_INET;
  where.sin_port = htons(port);
  if (port == 0 || port > 65535 || inet_pton(AF_INET, address.c_str(), &where.sin_addr) != 1) {
    ThrowErrno(env, EINVAL, "'" + address + ":" + std::to_string(port) + "' is not an IPv4 address and port to bind the tunnel to");
    return env.Undefined();
  }
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, errno, "cannot open a UDP socket for the tunnel");
    return env.Undefined();
  }
  int size = kUdpBufferBytes;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size);
  int on = 1;
  setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on);  // an older kernel just sends them apart
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  if (bind(fd, reinterpret_cast<struct sockaddr*>(&where), sizeof where) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, err, err == EADDRINUSE ? "UDP " + address + ":" + std::to_string(port) + " is already taken (a kernel VXLAN device or another agent?)"
                                           : "cannot bind the tunnel to " + address + ":" + std::to_string(port) + " (is it an address of this host?)");
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// recvFromBatch(fd, arena, base, slotBytes, max, lens, sources, segmentSizes, stamps) -> receives, or
// -errno when the first fails (EAGAIN reads as 0). sources[i] is the sender's IPv4 address as
// a number (a.b.c.d = a<<24 | b<<16 | c<<8 | d); lens[i] counts the slot header, or is 0 when
// the datagram did not fit. segmentSizes[i] is 0 for one datagram, or the size of each datagram
// of a run the kernel coalesced (the last may be shorter). stamps[i]: when the kernel received
// it, in monotonicMs's clock.
static Napi::Value RecvFromBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Uint8Array arenaArray = info[1].As<Napi::Uint8Array>();
  uint8_t* arena = arenaArray.Data();
  uint32_t base = info[2].As<Napi::Number>().Uint32Value();
  uint32_t slot = info[3].As<Napi::Number>().Uint32Value();
  uint32_t max = info[4].As<Napi::Number>().Uint32Value();
  Napi::Uint32Array lensArray = info[5].As<Napi::Uint32Array>();
  Napi::Uint32Array sourcesArray = info[6].As<Napi::Uint32Array>();
  Napi::Uint32Array segmentSizesArray = info[7].As<Napi::Uint32Array>();
  Napi::Float64Array stampsArray = info[8].As<Napi::Float64Array>();
  if (max > kMaxUdpBatch) max = kMaxUdpBatch;
  if (max > stampsArray.ElementLength()) max = stampsArray.ElementLength();
  if (max > lensArray.ElementLength()) max = lensArray.ElementLength();
  if (max > sourcesArray.ElementLength()) max = sourcesArray.ElementLength();
  if (max > segmentSizesArray.ElementLength()) max = segmentSizesArray.ElementLength();
  if (slot <= kSlotHeaderBytes || base + static_cast<size_t>(max) * slot > arenaArray.ByteLength()) {
    Napi::RangeError::New(env, "recvFromBatch: slots run past the end of the arena").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  struct mmsghdr msgs[kMaxUdpBatch];
  struct iovec iovs[kMaxUdpBatch];
  struct sockaddr_in peers[kMaxUdpBatch];
  static thread_local SegmentControl controls[kMaxUdpBatch];
  for (uint32_t i = 0; i < max; i++) {
    iovs[i].iov_base = arena + base + static_cast<size_t>(i) * slot + kSlotHeaderBytes;
    iovs[i].iov_len = slot - kSlotHeaderBytes;
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &peers[i];
    msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
    msgs[i].msg_hdr.msg_control = controls[i].bytes;
    msgs[i].msg_hdr.msg_controllen = sizeof controls[i].bytes;
  }
  int n = recvmmsg(fd, msgs, max, MSG_DONTWAIT, nullptr);
  if (n < 0) return Napi::Number::New(env, errno == EAGAIN ? 0 : -errno);
  uint32_t* lens = lensArray.Data();
  uint32_t* sources = sourcesArray.Data();
  uint32_t* segmentSizes = segmentSizesArray.Data();
  double* stamps = stampsArray.Data();
  ReceiveClock clock;
  for (int i = 0; i < n; i++) {
    stamps[i] = clock.StampOf(&msgs[i].msg_hdr);
    memset(arena + base + static_cast<size_t>(i) * slot, 0, kSlotHeaderBytes);
    lens[i] = (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? 0 : msgs[i].msg_len + kSlotHeaderBytes;
    sources[i] = ntohl(peers[i].sin_addr.s_addr);
    segmentSizes[i] = 0;
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != nullptr; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int size;
        memcpy(&size, CMSG_DATA(c), sizeof size);
        segmentSizes[i] = size;
      }
    }
  }
  return Napi::Number::New(env, n);
}

// A run the kernel would not cut (a route whose device cannot, a datagram over its MTU), sent
// as the datagrams it stands for: its pieces cut at every segmentSize bytes. Slower, never
// lost. -> datagrams sent, or -errno.
static int SendRunApart(int fd, const struct msghdr* run, uint32_t segmentSize) {
  struct mmsghdr msgs[kMaxUdpBatch];
  static thread_local struct iovec iovs[kMaxPiecesPerSend + kMaxUdpBatch];
  uint32_t count = 0;
  size_t used = 0;
  size_t piece = 0;
  size_t offset = 0;
  while (piece < run->msg_iovlen && count < kMaxUdpBatch) {
    struct msghdr* msg = &msgs[count++].msg_hdr;
    *msg = {};
    msg->msg_name = run->msg_name;
    msg->msg_namelen = run->msg_namelen;
    msg->msg_iov = iovs + used;
    for (size_t need = segmentSize; need > 0 && piece < run->msg_iovlen;) {
      const struct iovec& from = run->msg_iov[piece];
      size_t take = from.iov_len - offset < need ? from.iov_len - offset : need;
      iovs[used].iov_base = static_cast<uint8_t*>(from.iov_base) + offset;
      iovs[used++].iov_len = take;
      need -= take;
      offset += take;
      if (offset == from.iov_len) {
        piece++;
        offset = 0;
      }
    }
    msg->msg_iovlen = iovs + used - msg->msg_iov;
  }
  int n = sendmmsg(fd, msgs, count, MSG_DONTWAIT);
  return n < 0 ? -errno : n;
}

// sendToBatch(fd, arena, offsets, lengths, pieces, destinations, segmentSizes, start, count, port)
// -> sends done, or -errno when the first fails. Send i, gathered from its pieces (see
// SendPieces), goes to destinations[i] (an IPv4 address as a number) at `port`: one datagram
// when segmentSizes[i] is 0, else a run of datagrams of that size (the last may be shorter),
// cut by the kernel (UDP_SEGMENT).
static Napi::Value SendToBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  SendPieces batch = SendPiecesOf(info, 1);
  Napi::Uint32Array destinationsArray = info[5].As<Napi::Uint32Array>();
  Napi::Uint32Array segmentSizesArray = info[6].As<Napi::Uint32Array>();
  uint32_t start = info[7].As<Napi::Number>().Uint32Value();
  uint32_t count = info[8].As<Napi::Number>().Uint32Value();
  uint32_t port = info[9].As<Napi::Number>().Uint32Value();
  if (count > kMaxUdpBatch) count = kMaxUdpBatch;
  size_t end = static_cast<size_t>(start) + count;
  struct mmsghdr msgs[kMaxUdpBatch];
  static thread_local struct iovec iovs[kMaxPieces];
  if (end > destinationsArray.ElementLength() || end > segmentSizesArray.ElementLength() || !GatherSends(batch, start, count, msgs, iovs)) {
    Napi::RangeError::New(env, "sendToBatch: a datagram runs past the arena, or the batch past its pieces, destinations or segment sizes").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const uint32_t* destinations = destinationsArray.Data() + start;
  const uint32_t* segmentSizes = segmentSizesArray.Data() + start;
  struct sockaddr_in peers[kMaxUdpBatch];
  static thread_local SegmentControl controls[kMaxUdpBatch];
  for (uint32_t i = 0; i < count; i++) {
    peers[i] = {};
    peers[i].sin_family = AF_INET;
    peers[i].sin_port = htons(port);
    peers[i].sin_addr.s_addr = htonl(destinations[i]);
    msgs[i].msg_hdr.msg_name = &peers[i];
    msgs[i].msg_hdr.msg_namelen = sizeof peers[i];
    size_t length = 0;
    for (size_t k = 0; k < msgs[i].msg_hdr.msg_iovlen; k++) length += msgs[i].msg_hdr.msg_iov[k].iov_len;
    if (segmentSizes[i] != 0 && segmentSizes[i] < length) {
      msgs[i].msg_hdr.msg_control = controls[i].bytes;
      msgs[i].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
      struct cmsghdr* c = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t size = segmentSizes[i];
      memcpy(CMSG_DATA(c), &size, sizeof size);
    }
  }
  uint32_t done = 0;
  while (done < count) {
    int n = sendmmsg(fd, msgs + done, count - done, MSG_DONTWAIT);
    if (n > 0) {
      done += n;
      continue;
    }
    if (n == 0) break;
    int err = errno;
    bool isRun = msgs[done].msg_hdr.msg_control != nullptr;
    if (!isRun || (err != EINVAL && err != EIO && err != EMSGSIZE)) {
      if (done > 0) break;
      return Napi::Number::New(env, -err);
    }
    int apart = SendRunApart(fd, &msgs[done].msg_hdr, segmentSizes[done]);
    if (apart < 0 && done == 0) return Napi::Number::New(env, apart);
    if (apart < 0) break;
    done++;
  }
  return Napi::Number::New(env, done);
}

void InitUdp(Napi::Env env, Napi::Object exports) {
  exports.Set("openUdp", Napi::Function::New(env, OpenUdp));
  exports.Set("recvFromBatch", Napi::Function::New(env, RecvFromBatch));
  exports.Set("sendToBatch", Napi::Function::New(env, SendToBatch));
}

}  // namespace vswitch
