// Batched frame I/O into caller-provided memory: one call moves a whole batch, so the
// JavaScript side pays one crossing per batch, not per frame. Packet sockets are read from
// their receive ring (receive_ring.cc), or with recvmmsg when they have none, and written with
// sendmmsg; a tap is a character device, so it is read() and write() in a loop.
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <utility>
#include "vswitch.h"

namespace vswitch {

static const uint32_t kMaxBatch = 256;
static const uint32_t kVlanTagBytes = 4;
static const uint32_t kVnetHeaderBytes = 10;
static const uint32_t kMacBytes = 12;

static void AddLe16(uint8_t* at, int delta) {
  unsigned value = (at[0] | (at[1] << 8)) + delta;
  at[0] = value & 0xff;
  at[1] = (value >> 8) & 0xff;
}

static void SetLe16(uint8_t* at, unsigned value) {
  at[0] = value & 0xff;
  at[1] = (value >> 8) & 0xff;
}

// The kernel takes the 802.1Q tag out of a received frame (skb_vlan_untag) and gives it to a
// packet socket as auxiliary data: put it back after the MACs, as the frame was on the wire.
// `slot` holds the vnet header and the frame, `length` bytes, with room for 4 more. The vnet
// header's csum_start and hdr_len count from the frame's start: they move too.
static uint32_t RestoreVlanTag(uint8_t* slot, uint32_t length, uint32_t status, uint16_t tci, uint16_t tpid) {
  if (!(status & TP_STATUS_VLAN_TPID_VALID)) tpid = ETH_P_8021Q;
  uint8_t* tag = slot + kVnetHeaderBytes + kMacBytes;
  memmove(tag + kVlanTagBytes, tag, length - kVnetHeaderBytes - kMacBytes);
  tag[0] = tpid >> 8;
  tag[1] = tpid & 0xff;
  tag[2] = tci >> 8;
  tag[3] = tci & 0xff;
  if (slot[0] & 1) AddLe16(slot + 6, kVlanTagBytes);  // NEEDS_CSUM: csum_start
  if (slot[1] != 0) AddLe16(slot + 2, kVlanTagBytes);  // GSO: hdr_len
  return length + kVlanTagBytes;
}

// A socket without vnet headers gets a sender's partial checksum as it is, with only a flag in
// the auxiliary data: describe it in the header we wrote (NEEDS_CSUM, csum_start, csum_offset),
// as a vnet header would have, so that it is finished where it leaves.
static void DescribePartialChecksum(uint8_t* slot, uint32_t length) {
  const uint8_t* f = slot + kVnetHeaderBytes;
  uint32_t n = length - kVnetHeaderBytes;
  if (n < ETH_HLEN) return;
  uint32_t l3 = ETH_HLEN;
  unsigned type = (f[12] << 8) | f[13];
  if (type == ETH_P_8021Q || type == ETH_P_8021AD) {
    if (n < ETH_HLEN + kVlanTagBytes) return;
    type = (f[16] << 8) | f[17];
    l3 += kVlanTagBytes;
  }
  uint32_t l4;
  unsigned protocol;
  if (type == ETH_P_IP && n >= l3 + 20) {
    l4 = l3 + (f[l3] & 0x0f) * 4;
    protocol = f[l3 + 9];
  } else if (type == ETH_P_IPV6 && n >= l3 + 40) {
    l4 = l3 + 40;
    protocol = f[l3 + 6];
  } else {
    return;
  }
  unsigned checksumAt = protocol == IPPROTO_TCP ? 16 : protocol == IPPROTO_UDP ? 6 : 0;
  if (checksumAt == 0 || l4 + checksumAt + 2 > n) return;
  slot[0] |= 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  SetLe16(slot + 6, l4);
  SetLe16(slot + 8, checksumAt);
}

// What the kernel says of a received frame beside its bytes (a ring slot's header, or a
// message's auxiliary data): a VLAN tag to restore and, for a socket without vnet headers
// (`ownHeader`: the header was written here), an unfinished checksum.
static uint32_t FinishFrame(uint8_t* slot, uint32_t length, uint32_t status, uint16_t tci, uint16_t tpid, bool ownHeader) {
  if (length < kVnetHeaderBytes + kMacBytes) return length;
  if (status & TP_STATUS_VLAN_VALID) length = RestoreVlanTag(slot, length, status, tci, tpid);
  if (ownHeader && (status & TP_STATUS_CSUMNOTREADY)) DescribePartialChecksum(slot, length);
  return length;
}

static uint32_t ApplyAuxData(struct msghdr* msg, uint8_t* slot, uint32_t length, bool ownHeader) {
  for (struct cmsghdr* c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
    struct tpacket_auxdata aux;
    memcpy(&aux, CMSG_DATA(c), sizeof aux);
    return FinishFrame(slot, length, aux.tp_status, aux.tp_vlan_tci, aux.tp_vlan_tpid, ownHeader);
  }
  return length;
}

// Receives up to `count` messages from a packet socket's queue, message i into the arena's
// slot indexes[i] (after headerRoom), its length with the header in lens[indexes[i]] (0 when
// it did not fit) and its stamp, read on `clock`, in stamps[indexes[i]]: how many came, or -errno.
static int ReceiveMessages(int fd, uint8_t* arena, uint32_t base, uint32_t slot, const uint32_t* indexes, uint32_t count,
                           uint32_t headerRoom, uint32_t* lens, double* stamps, const ReceiveClock& clock) {
  struct mmsghdr msgs[kMaxBatch];
  struct iovec iovs[kMaxBatch];
  static thread_local char control[kMaxBatch][CMSG_SPACE(sizeof(struct tpacket_auxdata)) + ReceiveClock::kControlBytes];
  for (uint32_t i = 0; i < count; i++) {
    iovs[i].iov_base = arena + base + static_cast<size_t>(indexes[i]) * slot + headerRoom;
    iovs[i].iov_len = slot - headerRoom - kVlanTagBytes;  // room to put a VLAN tag back
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_control = control[i];
    msgs[i].msg_hdr.msg_controllen = sizeof control[i];
  }
  int n = recvmmsg(fd, msgs, count, MSG_DONTWAIT, nullptr);
  if (n < 0) return errno == EAGAIN ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    struct msghdr* msg = &msgs[i].msg_hdr;
    stamps[indexes[i]] = clock.StampOf(msg);
    uint8_t* at = arena + base + static_cast<size_t>(indexes[i]) * slot;
    memset(at, 0, headerRoom);
    lens[indexes[i]] = (msg->msg_flags & MSG_TRUNC) ? 0 : ApplyAuxData(msg, at, msgs[i].msg_len + headerRoom, headerRoom > 0);
  }
  return n;
}

// A frame the kernel wrote into a ring slot, copied to the arena's slot `at` behind a vnet
// header: the socket's, which the kernel put just before the frame, or a zeroed one. Its
// length with the header, or 0 when it was cut short (its whole copy could not be queued) or
// does not fit.
static uint32_t CopyOut(const struct tpacket2_hdr* h, uint8_t* at, uint32_t slot, uint32_t headerRoom) {
  if (h->tp_snaplen < h->tp_len || h->tp_snaplen + kVnetHeaderBytes + kVlanTagBytes > slot) return 0;
  const uint8_t* frame = reinterpret_cast<const uint8_t*>(h) + h->tp_mac;
  if (headerRoom > 0) memset(at, 0, kVnetHeaderBytes);
  else memcpy(at, frame - kVnetHeaderBytes, kVnetHeaderBytes);
  memcpy(at + kVnetHeaderBytes, frame, h->tp_snaplen);
  return FinishFrame(at, kVnetHeaderBytes + h->tp_snaplen, h->tp_status, h->tp_vlan_tci, h->tp_vlan_tpid, headerRoom > 0);
}

// Up to `max` frames from a ring, in the order the kernel received them, or -errno. The frames
// too big for a slot come from the socket's queue after, in one receive. The socket's error (its
// device went) is reported once no frame is left before it: the ring alone would not tell.
static int ReceiveFromRing(ReceiveRing& ring, int fd, uint8_t* arena, uint32_t base, uint32_t slot, uint32_t max,
                           uint32_t headerRoom, uint32_t* lens, double* stamps) {
  if (ring.error != 0) return -std::exchange(ring.error, 0);
  uint32_t copies[kMaxBatch];
  uint32_t copyCount = 0;
  ReceiveClock clock;
  uint32_t n = 0;
  for (struct tpacket2_hdr* h; n < max && (h = ring.Next()) != nullptr; n++) {
    if (h->tp_status & TP_STATUS_COPY) {
      copies[copyCount++] = n;
    } else {
      lens[n] = CopyOut(h, arena + base + static_cast<size_t>(n) * slot, slot, headerRoom);
      stamps[n] = clock.StampAt(h->tp_sec, h->tp_nsec);
    }
    ring.Release(h);
  }
  if (copyCount > 0) {
    int got = ReceiveMessages(fd, arena, base, slot, copies, copyCount, headerRoom, lens, stamps, clock);
    if (got < 0) ring.error = -got;
    for (uint32_t i = got < 0 ? 0 : got; i < copyCount; i++) {
      lens[copies[i]] = 0;
      stamps[copies[i]] = NAN;
    }
  }
  if (n == 0) {
    socklen_t length = sizeof ring.error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &ring.error, &length);
    if (ring.error != 0) return -std::exchange(ring.error, 0);
  }
  return static_cast<int>(n);
}


static bool ArenaOf(const Napi::CallbackInfo& info, int arg, uint8_t** data, size_t* size) {
  Napi::Uint8Array arena = info[arg].As<Napi::Uint8Array>();
  *data = arena.Data();
  *size = arena.ByteLength();
  return true;
}

// recvBatch(fd, isTap, arena, base, slotBytes, max, lens, vnetHdr, stamps) -> frames received, or -errno
// when the first receive fails (EAGAIN reads as 0). Slot i at arena[base + i*slotBytes] gets a
// vnet header and the frame: the socket's own header when it has them (vnetHdr), else a zeroed
// one written here, so that every slot has one layout. lens[i] counts the header too, or is 0
// when the frame did not fit in the slot (the caller counts the drop). stamps[i] is when the
// kernel received it, in monotonicMs's clock: NaN for a tap, whose reads carry no timestamp.
static Napi::Value RecvBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool isTap = info[1].ToBoolean();
  uint8_t* arena;
  size_t arenaBytes;
  ArenaOf(info, 2, &arena, &arenaBytes);
  uint32_t base = info[3].As<Napi::Number>().Uint32Value();
  uint32_t slot = info[4].As<Napi::Number>().Uint32Value();
  uint32_t max = info[5].As<Napi::Number>().Uint32Value();
  Napi::Uint32Array lensArray = info[6].As<Napi::Uint32Array>();
  uint32_t* lens = lensArray.Data();
  // Where the socket writes: after a header we write ourselves, when it writes none.
  uint32_t headerRoom = info[7].ToBoolean() ? 0 : kVnetHeaderBytes;
  Napi::Float64Array stampsArray = info[8].As<Napi::Float64Array>();
  double* stamps = stampsArray.Data();
  if (max > kMaxBatch) max = kMaxBatch;
  if (max > lensArray.ElementLength()) max = lensArray.ElementLength();
  if (max > stampsArray.ElementLength()) max = stampsArray.ElementLength();
  if (slot <= kVnetHeaderBytes + kVlanTagBytes || base + static_cast<size_t>(max) * slot > arenaBytes) {
    Napi::RangeError::New(env, "recvBatch: slots run past the end of the arena").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (isTap) {
    uint32_t n = 0;
    for (; n < max; n++) {
      uint8_t* at = arena + base + static_cast<size_t>(n) * slot;
      ssize_t got = read(fd, at + headerRoom, slot - headerRoom);
      if (got < 0) {
        if (n == 0) return Napi::Number::New(env, errno == EAGAIN ? 0 : -errno);
        break;
      }
      memset(at, 0, headerRoom);
      lens[n] = static_cast<uint32_t>(got) + headerRoom;
      stamps[n] = NAN;
    }
    return Napi::Number::New(env, n);
  }
  std::shared_ptr<ReceiveRing> ring = ReceiveRing::Of(fd);
  if (ring) return Napi::Number::New(env, ReceiveFromRing(*ring, fd, arena, base, slot, max, headerRoom, lens, stamps));
  // A socket without a ring: one an older agent opened and handed over.
  static const struct Identity {
    uint32_t at[kMaxBatch];
    Identity() { for (uint32_t i = 0; i < kMaxBatch; i++) at[i] = i; }
  } slots;
  return Napi::Number::New(env, ReceiveMessages(fd, arena, base, slot, slots.at, max, headerRoom, lens, stamps, ReceiveClock()));
}

// sendBatch(fd, isTap, arena, offsets, lengths, pieces, start, count) -> frames sent, or -errno
// when the first send fails. Frame i is gathered from its pieces (see SendPieces).
static Napi::Value SendBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool isTap = info[1].ToBoolean();
  SendPieces batch = SendPiecesOf(info, 2);
  uint32_t start = info[6].As<Napi::Number>().Uint32Value();
  uint32_t count = info[7].As<Napi::Number>().Uint32Value();
  if (count > kMaxBatch) count = kMaxBatch;
  struct mmsghdr msgs[kMaxBatch];
  static thread_local struct iovec iovs[kMaxPieces];
  if (!GatherSends(batch, start, count, msgs, iovs)) {
    Napi::RangeError::New(env, "sendBatch: a frame runs past the arena, or its pieces past their arrays").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (isTap) {
    uint32_t n = 0;
    for (; n < count; n++) {
      if (writev(fd, msgs[n].msg_hdr.msg_iov, msgs[n].msg_hdr.msg_iovlen) < 0) {
        if (n == 0) return Napi::Number::New(env, -errno);
        break;
      }
    }
    return Napi::Number::New(env, n);
  }
  int n = sendmmsg(fd, msgs, count, MSG_DONTWAIT);
  return Napi::Number::New(env, n < 0 ? -errno : n);
}

void InitBatchIo(Napi::Env env, Napi::Object exports) {
  exports.Set("recvBatch", Napi::Function::New(env, RecvBatch));
  exports.Set("sendBatch", Napi::Function::New(env, SendBatch));
  exports.Set("maxBatch", Napi::Number::New(env, kMaxBatch));
}

}  // namespace vswitch
