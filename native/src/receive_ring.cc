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

// Slots of 2 KiB: a standard frame with its headers fits one. Blocks of one page (two slots),
// so that the kernel never needs a large contiguous allocation. How many slots a port gets is
// the agent's setting (ringSlots).
static const unsigned kSlotBytes = 2048;
static const unsigned kBlockBytes = 4096;
static const unsigned kSlotsPerBlock = kBlockBytes / kSlotBytes;
// What a port may be given: 128 KiB to 128 MiB (src/agent/switch-options.ts says the same).
static const uint32_t kMinSlots = 64;
static const uint32_t kMaxSlots = 65536;

static bool ValidSlots(uint32_t slots) { return slots >= kMinSlots && slots <= kMaxSlots && slots % kSlotsPerBlock == 0; }

static std::mutex registryMutex;
static std::unordered_map<int, std::shared_ptr<ReceiveRing>> registry;

static size_t RingBytes(uint32_t slots) { return static_cast<size_t>(slots) * kSlotBytes; }

ReceiveRing::ReceiveRing(uint8_t* memory, uint32_t slots, uint32_t head) : memory_(memory), slots_(slots), head_(head % slots) {}

ReceiveRing::~ReceiveRing() { munmap(memory_, RingBytes(slots_)); }

struct tpacket2_hdr* ReceiveRing::Next() {
  auto* slot = reinterpret_cast<struct tpacket2_hdr*>(memory_ + static_cast<size_t>(head_) * kSlotBytes);
  return (__atomic_load_n(&slot->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER) ? slot : nullptr;
}

void ReceiveRing::Release(struct tpacket2_hdr* slot) {
  __atomic_store_n(&slot->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
  head_ = (head_ + 1) % slots_;
}

static uint8_t* MapRing(int fd, uint32_t slots) {
  void* memory = mmap(nullptr, RingBytes(slots), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  return memory == MAP_FAILED ? nullptr : static_cast<uint8_t*>(memory);
}

static void Register(int fd, uint8_t* memory, uint32_t slots, uint32_t head) {
  std::lock_guard<std::mutex> lock(registryMutex);
  registry[fd] = std::make_shared<ReceiveRing>(memory, slots, head);
}

int ReceiveRing::SetUp(int fd, uint32_t slots) {
  if (!ValidSlots(slots)) return EINVAL;
  int version = TPACKET_V2;
  int one = 1;
  struct tpacket_req request = {kBlockBytes, slots / kSlotsPerBlock, kSlotBytes, slots};
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof version) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof one) < 0 ||
      setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &request, sizeof request) < 0)
    return errno;
  uint8_t* memory = MapRing(fd, slots);
  if (!memory) return errno;
  Register(fd, memory, slots, 0);
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

// ringOf(fd) -> { slots, head } of the socket's ring, or null when it has none here: what an
// agent that takes the port over maps and starts from (slots before `head` are read, the rest
// not yet).
static Napi::Value RingOf(const Napi::CallbackInfo& info) {
  std::shared_ptr<ReceiveRing> ring = ReceiveRing::Of(info[0].As<Napi::Number>().Int32Value());
  if (!ring) return info.Env().Null();
  Napi::Object answer = Napi::Object::New(info.Env());
  answer.Set("slots", Napi::Number::New(info.Env(), ring->slots()));
  answer.Set("head", Napi::Number::New(info.Env(), ring->head()));
  return answer;
}

// adoptRing(fd, slots, head): maps the ring of `slots` of a packet socket another agent opened
// and read up to `head` (its ringOf), and reads it from there.
static Napi::Value AdoptRing(const Napi::CallbackInfo& info) {
  int fd = info[0].As<Napi::Number>().Int32Value();
  uint32_t slots = info[1].As<Napi::Number>().Uint32Value();
  uint32_t head = info[2].As<Napi::Number>().Uint32Value();
  uint8_t* memory = ValidSlots(slots) ? MapRing(fd, slots) : nullptr;
  if (!memory) {
    ThrowErrno(info.Env(), ValidSlots(slots) ? errno : EINVAL, "cannot map the receive ring of a packet socket handed over");
    return info.Env().Undefined();
  }
  Register(fd, memory, slots, head);
  return info.Env().Undefined();
}

void InitReceiveRing(Napi::Env env, Napi::Object exports) {
  exports.Set("ringOf", Napi::Function::New(env, RingOf));
  exports.Set("adoptRing", Napi::Function::New(env, AdoptRing));
}

}  // namespace vswitch
