{
  "variables": {
    "with_libdeflate%": "<!(pkg-config --exists libdeflate && echo 1 || echo 0)"
  },
  "targets": [
    {
      "target_name": "snap_native",
      "sources": ["snap_native.c", "hash_files.c", "scan_many.c", "gzip.c", "inflate.c", "unlink_many.c", "listing_diff.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"],
      "conditions": [
        ["with_libdeflate==1", {
          "defines": ["SNAP_HAVE_LIBDEFLATE"],
          "libraries": ["<!(pkg-config --libs libdeflate)"]
        }]
      ]
    }
  ]
}
