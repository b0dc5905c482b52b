// Sends gathered from pieces of an arena: a frame whose headers were written apart from its
// payload (a segment of a super-frame, a merged run) goes out without being copied together
// first; the kernel's one copy from user memory does the gathering.
#include "vswitch.h"

namespace vswitch {

bool GatherSends(const SendPieces& batch, uint32_t start, uint32_t count, struct mmsghdr* msgs, struct iovec* iovs) {
  if (static_cast<size_t>(start) + count > batch.sendCount) return false;
  size_t piece = 0;
  for (uint32_t i = 0; i < start; i++) piece += batch.pieces[i];
  size_t used = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t n = batch.pieces[start + i];
    if (n == 0 || n > kMaxPiecesPerSend || piece + n > batch.pieceCount || used + n > kMaxPieces) return false;
    msgs[i].msg_hdr = {};
    msgs[i].msg_hdr.msg_iov = iovs + used;
    msgs[i].msg_hdr.msg_iovlen = n;
    for (uint32_t k = 0; k < n; k++, piece++, used++) {
      if (static_cast<size_t>(batch.offsets[piece]) + batch.lengths[piece] > batch.arenaBytes) return false;
      iovs[used].iov_base = batch.arena + batch.offsets[piece];
      iovs[used].iov_len = batch.lengths[piece];
    }
  }
  return true;
}

SendPieces SendPiecesOf(const Napi::CallbackInfo& info, int arenaArg) {
  Napi::Uint8Array arena = info[arenaArg].As<Napi::Uint8Array>();
  Napi::Uint32Array offsets = info[arenaArg + 1].As<Napi::Uint32Array>();
  Napi::Uint32Array lengths = info[arenaArg + 2].As<Napi::Uint32Array>();
  Napi::Uint32Array pieces = info[arenaArg + 3].As<Napi::Uint32Array>();
  size_t pieceCount = offsets.ElementLength() < lengths.ElementLength() ? offsets.ElementLength() : lengths.ElementLength();
  return {arena.Data(), arena.ByteLength(), offsets.Data(), lengths.Data(), pieceCount, pieces.Data(), pieces.ElementLength()};
}

}  // namespace vswitch
