// A packet socket's receive ring (PACKET_RX_RING, TPACKET_V2): the kernel writes each frame
// into memory shared with us, in the softirq that delivers it, instead of queueing an skb for a
// recvmmsg to copy out on the datapath's thread. A frame that does not fit a slot (a GSO
// super-frame, a jumbo frame) leaves a slot marked TP_STATUS_COPY and its whole copy on the
// socket's queue (PACKET_COPY_THRESH), read from there in the same order.
//
// Rings are kept here by descriptor, so that a batch receive finds its port's ring; a reader
// holds a reference for the length of a batch, so a port closed meanwhile is unmapped after.
#include <linux/if_packet.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <cerrno>
#include <mutex>
#include <unordered_map>
#include "vswitch.h"

namespace vswitch {

// 4,096 slots of 2 KiB (8 MiB a port, the bound the socket's queue had): a standard frame with
// its headers fits one slot, and the ring holds 4 s of a 1,000-packet/s stream while no one reads
// it (an agent taking over, a busy machine; a takeover under test was silent 2.3 s, and 1,024
// slots lost frames). Blocks of one page, so that the kernel never needs a large contiguous
// allocation.
static const unsigned kSlotBytes = 2048;
static const unsigned kBlockBytes = 4096;
static const unsigned kSlots = 4096;
static const size_t kRingBytes = static_cast<size_t>(kSlots) * kSlotBytes;

static std::mutex registryMutex;
static std::unordered_map<int, std::shared_ptr<ReceiveRing>> registry;

ReceiveRing::ReceiveRing(uint8_t* memory, uint32_t head) : memory_(memory), head_(head % kSlots) {}

ReceiveRing::~ReceiveRing() { munmap(memory_, kRingBytes); }

struct tpacket2_hdr* ReceiveRing::Next() {
  auto* slot = reinterpret_cast<struct tpacket2_hdr*>(memory_ + static_cast<size_t>(head_) * kSlotBytes);
  return (__atomic_load_n(&slot->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) ? slot : nullptr;
}

void ReceiveRing::Release(struct tpacket2_hdr* slot) {
  __atomic_store_n(&slot->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  head_ = (head_ + 1) % kSlots;
}

static uint8_t* MapRing(int fd) {
  void* memory = mmap(nullptr, kRingBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return memory == MAP_FAILED ? nullptr : static_cast<uint8_t*>(memory);
}

static void Register(int fd, uint8_t* memory, uint32_t head) {
  std::lock_guard<std::mutex> lock(registryMutex);
  registry[fd] = std::make_shared<ReceiveRing>(memory, head);
}

int ReceiveRing::SetUp(int fd) {
  int version = TPACKET_V2;
  int one = 1;
  struct tpacket_req request = {kBlockBytes, static_cast<unsigned>(kRingBytes / kBlockBytes), kSlotBytes, kSlots};
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof one) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &request, sizeof request) < 0)
    return errno;
  uint8_t* memory = MapRing(fd);
  if (!memory) return errno;
  Register(fd, memory, 0);
  return 0;
}

std::shared_ptr<ReceiveRing> ReceiveRing::Of(int fd) {
  std::lock_guard<std::mutex> lock(registryMutex);
  auto found = registry.find(fd);
  return found == registry.end() ? nullptr : found->second;
}

void ReceiveRing::Forget(int fd) {
  std::lock_guard<std::mutex> lock(registryMutex);
  registry.erase(fd);
}

// ringHead(fd) -> the next slot its reader takes, or -1 when the socket has no ring here: what
// an agent that takes the port over must start from (slots before it are read, after it not yet).
static Napi::Value RingHead(const Napi::CallbackInfo& info) {
  std::shared_ptr<ReceiveRing> ring = ReceiveRing::Of(info[0].As<Napi::Number>().Int32Value());
  return Napi::Number::New(info.Env(), ring ? static_cast<double>(ring->head()) : -1);
}

// adoptRing(fd, head): maps the ring of a packet socket another agent opened and read up to
// `head` (its ringHead), and reads it from there.
static Napi::Value AdoptRing(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint32_t head = info[1].As<Napi::Number>().Uint32Value();
  uint8_t* memory = MapRing(fd);
  if (!memory) {
    ThrowErrno(info.Env(), errno, "cannot map the receive ring of a packet socket handed over");
    return info.Env().Undefined();
  }
  Register(fd, memory, head);
  return info.Env().Undefined();
}

void InitReceiveRing(Napi::Env env, Napi::Object exports) {
  exports.Set("ringHead", Napi::Function::New(env, RingHead));
  exports.Set("adoptRing", Napi::Function::New(env, AdoptRing));
}

}  // namespace vswitch
