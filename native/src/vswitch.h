// Shared declarations of the vswitch native addon: each .cc file registers its functions.
#pragma once
#include <napi.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>

struct tpacket2_hdr;

namespace vswitch {

// Throws a JS Error whose `code` is the errno name (ENODEV, EPERM...) and whose message is
// a sentence written for the operator.
void ThrowErrno(Napi::Env env, int err, const std::string& message);

// A batch of sends as the datapath queues them (src/datapath/tx-queue.ts): send i is pieces[i]
// consecutive pieces (offsets, lengths) of the arena, after those of the sends before it.
struct SendPieces {
  uint8_t* arena;
  size_t arenaBytes;
  const uint32_t* offsets;
  const uint32_t* lengths;
  size_t pieceCount;
  const uint32_t* pieces;
  size_t sendCount;
};

// The kernel takes at most UIO_MAXIOV iovecs in one message; a batch has at most kMaxPieces.
const uint32_t kMaxPiecesPerSend = 1024;
const uint32_t kMaxPieces = 8192;

// Reads the arena and the three arrays from info[arenaArg ..]: arena, offsets, lengths, pieces.
SendPieces SendPiecesOf(const Napi::CallbackInfo& info, int arenaArg);

// Points msgs[0 .. count) at the pieces of sends [start, start + count), their iovecs in `iovs`
// (room for kMaxPieces). False when a piece runs past the arena or the pieces past their arrays.
bool GatherSends(const SendPieces& batch, uint32_t start, uint32_t count, struct mmsghdr* msgs, struct iovec* iovs);

// CLOCK_MONOTONIC in milliseconds: the clock of the datapath's timings (see receive_clock.cc).
double MonotonicMs();

// Reads a received message's kernel timestamp (SCM_TIMESTAMPNS, the wall clock) on the
// monotonic clock; made once per receive call, where both clocks are read together.
class ReceiveClock {
 public:
  ReceiveClock();
  // NaN when the message carries no timestamp.
  double StampOf(struct msghdr* msg) const;
  // A receive ring's stamp (tp_sec, tp_nsec), also on the wall clock.
  double StampAt(uint32_t seconds, uint32_t nanoseconds) const;
  // Control message room for the timestamp.
  static constexpr size_t kControlBytes = CMSG_SPACE(sizeof(struct timespec));

 private:
  double realToMonotonic_;
};

// A packet socket's receive ring (receive_ring.cc), kept by descriptor.
class ReceiveRing {
 public:
  ReceiveRing(uint8_t* memory, uint32_t slots, uint32_t head);
  ~ReceiveRing();
  // Sets up and maps a ring of `slots` for packet socket `fd` (before it is bound): 0, or an errno.
  static int SetUp(int fd, uint32_t slots);
  // The ring of `fd`, or null when it has none (a tap, or a socket opened without one).
  static std::shared_ptr<ReceiveRing> Of(int fd);
  // Before `fd` is closed: the ring is unmapped once no reader holds it.
  static void Forget(int fd);
  // The slot at the head when the kernel has filled it, else null.
  struct tpacket2_hdr* Next();
  // Gives the head's slot back to the kernel and moves on.
  void Release(struct tpacket2_hdr* slot);
  uint32_t slots() const { return slots_; }
  uint32_t head() const { return head_; }
  // An error the socket reported while frames were still to be given (errno, or 0).
  int error = 0;

 private:
  uint8_t* memory_;
  uint32_t slots_;
  uint32_t head_;
};

void InitLink(Napi::Env env, Napi::Object exports);
void InitSockets(Napi::Env env, Napi::Object exports);
void InitBatchIo(Napi::Env env, Napi::Object exports);
void InitUdp(Napi::Env env, Napi::Object exports);
void InitChecksum(Napi::Env env, Napi::Object exports);
void InitHandover(Napi::Env env, Napi::Object exports);
void InitThreadClock(Napi::Env env, Napi::Object exports);
void InitThreadSlice(Napi::Env env, Napi::Object exports);
void InitReceiveClock(Napi::Env env, Napi::Object exports);
void InitPoller(Napi::Env env, Napi::Object exports);
void InitReceiveRing(Napi::Env env, Napi::Object exports);

}  // namespace vswitch
