/*
 * Declarations that snap_native.c shares with the addon's other source files: the stat table and
 * the helpers for arguments and errors. snap_native.c documents each of them.
 */
#ifndef SNAP_NATIVE_H
#define SNAP_NATIVE_H

#include <dirent.h>
#include <node_api.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The entries of one directory in flat arrays. "stat tables" in snap_native.c gives the layout. */
typedef struct {
  size_t count, capacity;
  double *numbers;
  uint64_t *bigints;
  char *names;
  size_t names_length, names_capacity;
} StatTable;

/* The fields of each entry, which snap_native.c defines under "stat tables". */
enum { F_TYPE, F_MODE, F_UID, F_GID, F_SIZE, F_NLINK, F_RDEV_MAJOR, F_RDEV_MINOR, F_NAME_END,
       F_WIDE, F_MTIME_NSEC, F_CTIME_NSEC, NUMBER_FIELDS };
enum { B_DEV, B_INO, B_MTIME, B_CTIME, BIGINT_FIELDS };

napi_value throw_errno(napi_env env, int err, const char *syscall);
napi_value throw_napi_failure(napi_env env);
bool queue_work(napi_env env, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete,
                void *data, napi_async_work *work, napi_deferred *deferred, napi_value *promise);
void settle_promise(napi_env env, napi_deferred deferred, napi_value result, const char *name);
bool get_args(napi_env env, napi_callback_info info, size_t count, napi_value *args);
bool bytes_arg(napi_env env, napi_value value, const char *message, void **bytes, size_t *length);
char *path_arg(napi_env env, napi_value value, const char *syscall);

int scan_directory(DIR *dir, StatTable *table, const char **syscall);
void table_free(StatTable *table);
napi_value table_to_js(napi_env env, const StatTable *table);

/* Returns the symbolic name of an errno value ("ENOENT"), as libuv names it for Node's error codes. */
const char *snap_errno_code(int err);

/* scan_many.c */
napi_value read_dir_tables(napi_env env, napi_callback_info info);

/* unlink_many.c */
napi_value unlink_many(napi_env env, napi_callback_info info);

/* listing_diff.c */
napi_value unmatched_tree_names(napi_env env, napi_callback_info info);
napi_value unmatched_meta_names(napi_env env, napi_callback_info info);
napi_value find_tree_entries(napi_env env, napi_callback_info info);
napi_value find_meta_lines(napi_env env, napi_callback_info info);

/* inflate.c */
napi_value inflate_exact(napi_env env, napi_callback_info info);

/* hash_files.c */
napi_value snap_hash_files(napi_env env, napi_callback_info info);

/* gzip.c */
napi_value snap_gzip_member(napi_env env, napi_callback_info info);
napi_value snap_gzip_info(napi_env env, napi_callback_info info);
napi_value snap_gzip_bound(napi_env env, napi_callback_info info);

#endif
