/* Declarations shared by the source files of the snap_native addon. */
#ifndef SNAP_NATIVE_H
#define SNAP_NATIVE_H

#include <node_api.h>

/* Returns the symbolic name of an errno value ("ENOENT"), as libuv names it for Node's error codes. */
const char *snap_errno_code(int err);

/* hashFiles, in hash_files.c. */
napi_value snap_hash_files(napi_env env, napi_callback_info info);

#endif
