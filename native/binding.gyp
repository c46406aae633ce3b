{
  "targets": [
    {
      "target_name": "snap_native",
      "sources": ["snap_native.c", "hash_files.c", "scan_many.c", "inflate.c", "unlink_many.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
