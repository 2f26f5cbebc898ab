{
  "targets": [
    {
      # The Node-API addon: only the syscalls Node lacks. Everything else is TypeScript.
      "target_name": "runts_native",
      "sources": ["native/addon/addon.cc", "native/init/fdpass.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra"]
    },
    {
      # The init helper: single-threaded, static, small. It is what enters the
      # container's namespaces and what waits in a created container.
      "target_name": "runts-init",
      "type": "executable",
      "sources": [
        "<!@(ls -1 native/init/*.cc)"
      ],
      "cflags_cc": ["-std=c++17", "-Os", "-Wall", "-Wextra", "-fno-exceptions", "-fno-rtti", "-ffunction-sections", "-fdata-sections"],
      "cflags_cc!": ["-fno-omit-frame-pointer"],
      "ldflags": ["-static", "-Wl,--gc-sections", "-s"]
    },
    {
      # containerd's shim binary: answers `start` and `delete` through the namespace's resident
      # shim without booting Node, or execs the Node shim (dist/shim.js). Static: it is on
      # containerd's critical path twice per container.
      "target_name": "containerd-shim-runts-v2",
      "type": "executable",
      "sources": ["<!@(ls -1 native/shim/*.cc)", "native/init/io.cc"],
      "cflags_cc": ["-std=c++17", "-Os", "-Wall", "-Wextra", "-fno-exceptions", "-fno-rtti", "-ffunction-sections", "-fdata-sections"],
      "cflags_cc!": ["-fno-omit-frame-pointer"],
      "ldflags": ["-static", "-Wl,--gc-sections", "-s"]
    }
  ]
}
