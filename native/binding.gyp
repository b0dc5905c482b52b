{
  "targets": [
    {
      "target_name": "vswitch_native",
      "sources": ["src/addon.cc", "src/link.cc", "src/sockets.cc", "src/batch_io.cc", "src/udp.cc", "src/checksum.cc", "src/gather.cc", "src/handover.cc", "src/thread_clock.cc", "src/thread_slice.cc", "src/receive_clock.cc", "src/poller.cc", "src/receive_ring.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-O3", "-Wall", "-Wextra", "-Wno-unused-parameter", "-std=c++17"]
    }
  ]
}
