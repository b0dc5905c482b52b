// Shared declarations of the vswitch native addon: each .cc file registers its functions.
#pragma once
#include <napi.h>
#include <string>

namespace vswitch {

// Throws a JS Error whose `code` is the errno name (ENODEV, EPERM...) and whose message is
// a sentence written for the operator.
void ThrowErrno(Napi::Env env, int err, const std::string& message);

void InitLink(Napi::Env env, Napi::Object exports);
void InitSockets(Napi::Env env, Napi::Object exports);
void InitBatchIo(Napi::Env env, Napi::Object exports);
void InitReadiness(Napi::Env env, Napi::Object exports);
void InitUdp(Napi::Env env, Napi::Object exports);
void InitChecksum(Napi::Env env, Napi::Object exports);

}  // namespace vswitch
