/*
 * unlinkMany: unlinks many paths in one call, on threads of its own. After a sync, removing the
 * files of a rollback got faster with more threads than libuv's pool has (four): the unlinks wait
 * more than they compute, so more of them at once overlap the waits. One call also saves the
 * promise and request that each fs.promises.unlink costs.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snap_native.h"

/*
 * Threads that unlink, the pool thread included. The 610 files (159 MB) that rollback s1 -> s0 of
 * the benchmark's real history removes took about 37 ms to unlink on 16 threads and about 50 ms
 * on 4, after a sync, on ext4 with 2 CPUs shared with other work (fs.promises.unlink with
 * UV_THREADPOOL_SIZE set). 32 and 64 threads were no faster.
 */
#define UNLINK_THREADS 16

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char **paths;
  /* 0 or the errno value of each path's unlink. */
  int *errors;
  size_t count;
  atomic_size_t next;
} UnlinkBatch;

static void free_batch(UnlinkBatch *batch) {
  if (batch->paths != NULL) {
    for (size_t i = 0; i < batch->count; i++) free(batch->paths[i]);
  }
  free(batch->paths);
  free(batch->errors);
  free(batch);
}

static void *unlink_jobs(void *arg) {
  UnlinkBatch *batch = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&batch->next, 1);
    if (i >= batch->count) return NULL;
    batch->errors[i] = unlink(batch->paths[i]) == 0 ? 0 : errno;
  }
}

static void execute(napi_env env, void *data) {
  (void)env;
  UnlinkBatch *batch = data;
  size_t threads = batch->count < UNLINK_THREADS ? batch->count : UNLINK_THREADS;
  pthread_t workers[UNLINK_THREADS];
  size_t started = 0;
  /* A thread that cannot be started leaves its share to the others. */
  while (started + 1 < threads && pthread_create(&workers[started], NULL, unlink_jobs, batch) == 0) started++;
  unlink_jobs(batch);
  for (size_t i = 0; i < started; i++) pthread_join(workers[i], NULL);
}

/* Resolves with an array of null (unlinked) or the errno code ("ENOENT") of each path. */
static void complete(napi_env env, napi_status status, void *data) {
  UnlinkBatch *batch = data;
  napi_value reply = NULL, null_value;
  if (status == napi_ok) status = napi_get_null(env, &null_value);
  if (status == napi_ok) status = napi_create_array_with_length(env, batch->count, &reply);
  for (size_t i = 0; status == napi_ok && i < batch->count; i++) {
    napi_value code = null_value;
    if (batch->errors[i] != 0) status = napi_create_string_utf8(env, snap_errno_code(batch->errors[i]), NAPI_AUTO_LENGTH, &code);
    if (status == napi_ok) status = napi_set_element(env, reply, (uint32_t)i, code);
  }
  settle_promise(env, batch->deferred, status == napi_ok ? reply : NULL, "unlinkMany");
  napi_delete_async_work(env, batch->work);
  free_batch(batch);
}

/* Throws a TypeError, frees the batch and returns NULL. */
static napi_value reject_args(napi_env env, UnlinkBatch *batch, const char *message) {
  free_batch(batch);
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

/*
 * unlinkMany(paths: Buffer[]): Promise<(string | null)[]>. Unlinks every path, in no particular
 * order, and resolves with null for each path unlinked and the errno code for each that failed.
 * A path's failure does not stop the others. The promise rejects only when its result cannot be
 * built.
 */
napi_value unlink_many(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  UnlinkBatch *batch = calloc(1, sizeof *batch);
  if (batch == NULL) return throw_errno(env, ENOMEM, "malloc");
  bool is_array = false;
  uint32_t count = 0;
  if (napi_is_array(env, args[0], &is_array) != napi_ok || !is_array || napi_get_array_length(env, args[0], &count) != napi_ok)
    return reject_args(env, batch, "unlinkMany: paths must be an array of Buffers");
  batch->paths = calloc(count > 0 ? count : 1, sizeof *batch->paths);
  batch->errors = calloc(count > 0 ? count : 1, sizeof *batch->errors);
  if (batch->paths == NULL || batch->errors == NULL) {
    free_batch(batch);
    return throw_errno(env, ENOMEM, "malloc");
  }
  batch->count = count;
  for (uint32_t i = 0; i < count; i++) {
    napi_value path;
    if (napi_get_element(env, args[0], i, &path) != napi_ok) {
      free_batch(batch);
      return throw_napi_failure(env);
    }
    batch->paths[i] = path_arg(env, path, "unlink");
    if (batch->paths[i] == NULL) {
      free_batch(batch);
      return NULL;
    }
  }

  napi_value promise;
  if (!queue_work(env, "unlinkMany", execute, complete, batch, &batch->work, &batch->deferred, &promise)) {
    free_batch(batch);
    return NULL;
  }
  return promise;
}
