// Opening the two kinds of port: a TAP device through /dev/net/tun, and an AF_PACKET socket
// bound to an existing interface (a veth end, or the host side of a QEMU tap such as vnet3).
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include "vswitch.h"

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace vswitch {

static const int kSocketBufferBytes = 8 << 20;
// struct virtio_net_hdr (linux/virtio_net.h, which C++ cannot include: a field is named
// `class`): flags, gso_type, hdr_len, gso_size, csum_start, csum_offset.
static const int kVnetHeaderBytes = 10;

static bool CheckName(Napi::Env env, const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) {
    ThrowErrno(env, EINVAL, "interface name '" + name + "' must be 1 to 15 characters");
    return false;
  }
  return true;
}

// openTap(name, vnetHdr) -> fd. Creates the tap, or attaches to an existing persistent one.
// With vnetHdr every frame carries a struct virtio_net_hdr and the kernel may hand us GSO
// super-frames with partial checksums (TUNSETOFFLOAD), as it does to QEMU's virtio-net.
static Napi::Value OpenTap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  bool vnetHdr = info[1].ToBoolean();
  if (!CheckName(env, name)) return env.Undefined();
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == EPERM || err == EACCES)
      ThrowErrno(env, err, "permission denied opening /dev/net/tun (run as root or grant CAP_NET_ADMIN)");
    else if (err == ENOENT)
      ThrowErrno(env, err, "/dev/net/tun does not exist (load the tun module: modprobe tun)");
    else
      ThrowErrno(env, err, "cannot open /dev/net/tun for tap " + name);
    return env.Undefined();
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (vnetHdr ? IFF_VNET_HDR : 0);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    if (err == EBUSY)
      ThrowErrno(env, err, "tap " + name + " is held by another process (QEMU?); attach to it as a packet port instead");
    else if (err == EINVAL)
      ThrowErrno(env, err, "interface " + name + " exists and is not a tap device (attach to it as a packet port)");
    else if (err == EPERM)
      ThrowErrno(env, err, "permission denied creating tap " + name + " (run as root or grant CAP_NET_ADMIN)");
    else
      ThrowErrno(env, err, "cannot create or attach tap " + name);
    return env.Undefined();
  }
  if (vnetHdr) {
    int size = kVnetHeaderBytes;
    unsigned offloads = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    if (ioctl(fd, TUNSETVNETHDRSZ, &size) < 0 || ioctl(fd, TUNSETOFFLOAD, offloads) < 0) {
      int err = errno;
      close(fd);
      ThrowErrno(env, err, "cannot enable vnet headers and offloads on tap " + name);
      return env.Undefined();
    }
  }
  return Napi::Number::New(env, fd);
}

// openPacket(name, vnetHdr, ringSlots) -> fd: a raw socket that sees every frame arriving on
// the interface (promiscuous) and none of those we send on it (PACKET_IGNORE_OUTGOING), read
// through a receive ring of ringSlots (receive_ring.cc), set up before the bind so that no frame
// is queued outside it.
static Napi::Value OpenPacket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  bool vnetHdr = info[1].ToBoolean();
  uint32_t ringSlots = info[2].As<Napi::Number>().Uint32Value();
  if (!CheckName(env, name)) return env.Undefined();
  unsigned index = if_nametoindex(name.c_str());
  if (index == 0) {
    ThrowErrno(env, ENODEV, "interface " + name + " does not exist");
    return env.Undefined();
  }
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    ThrowErrno(env, err, err == EPERM ? "permission denied opening a packet socket on " + name +
                                            " (run as root or grant CAP_NET_RAW)"
                                      : "cannot open a packet socket on " + name);
    return env.Undefined();
  }
  int one = 1;
  int bytes = kSocketBufferBytes;
  struct packet_mreq promisc;
  memset(&promisc, 0, sizeof promisc);
  promisc.mr_ifindex = index;
  promisc.mr_type = PACKET_MR_PROMISC;
  struct sockaddr_ll addr;
  memset(&addr, 0, sizeof addr);
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = index;
  const char* step = nullptr;
  if (vnetHdr && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0) step = "enable vnet headers";
  else if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0) step = "receive VLAN tags";
  else if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0) step = "ignore outgoing frames";
  else if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one) < 0) step = "bypass the qdisc";
  else if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) < 0) step = "timestamp received frames";
  else if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) < 0) step = "size the receive buffer";
  else if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) < 0) step = "size the send buffer";
  else if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &promisc, sizeof promisc) < 0) step = "make it promiscuous";
  else if ((errno = ReceiveRing::SetUp(fd, ringSlots)) != 0) step = "set up a receive ring";
  else if (bind(fd, reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) < 0) step = "bind to it";
  if (step) {
    int err = errno;
    ReceiveRing::Forget(fd);
    close(fd);
    ThrowErrno(env, err, std::string("cannot ") + step + " on packet socket for interface " + name);
    return env.Undefined();
  }
  return Napi::Number::New(env, fd);
}

// receiveDrops(fd) -> frames the kernel dropped for this packet socket (its ring or queue was
// full) since the last call: PACKET_STATISTICS resets as it is read. 0 for a tap.
static Napi::Value ReceiveDrops(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  struct tpacket_stats stats;
  socklen_t length = sizeof stats;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &stats, &length) < 0) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), stats.tp_drops);
}

static Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  ReceiveRing::Forget(fd);
  close(fd);
  return info.Env().Undefined();
}

void InitSockets(Napi::Env env, Napi::Object exports) {
  exports.Set("openTap", Napi::Function::New(env, OpenTap));
  exports.Set("openPacket", Napi::Function::New(env, OpenPacket));
  exports.Set("close", Napi::Function::New(env, CloseFd));
  exports.Set("receiveDrops", Napi::Function::New(env, ReceiveDrops));
  exports.Set("vnetHeaderBytes", Napi::Number::New(env, kVnetHeaderBytes));
}

}  // namespace vswitch
