/*
 * gzipMember: compresses one buffer into one complete gzip member (RFC 1952) on one of libuv's
 * threads. Layer compression cuts the tar into fixed-size chunks and compresses several at once.
 *
 * With libdeflate (found by pkg-config when the addon is built) the member comes from
 * libdeflate_gzip_compress, levels 1 to 12. On the 154 MiB layer of the Debian history in
 * docs/BENCHMARKS.md, libdeflate 1.14 wrote 72.1 MB at level 1 and 67.2 MB at level 2. It took
 * about 40% and 55% of the CPU time that node's zlib took at level 4 (71.2 MB). Without libdeflate the
 * member comes from the zlib that the node binary exports, levels 1 to 9, byte for byte what
 * node:zlib's gzip writes at the same level.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef SNAP_HAVE_LIBDEFLATE
#include <libdeflate.h>
#else
#include <zlib.h>
#endif

#include "snap_native.h"

#ifdef SNAP_HAVE_LIBDEFLATE
#define GZIP_LIBRARY "libdeflate"
#define GZIP_MAX_LEVEL 12
#define GZIP_MAX_LEVEL_TEXT "12"
#else
#define GZIP_LIBRARY "zlib"
#define GZIP_MAX_LEVEL 9
#define GZIP_MAX_LEVEL_TEXT "9"
#endif

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  /* Keep the input and output Buffers alive while a thread uses them. */
  napi_ref input_ref, output_ref;
  const unsigned char *input;
  size_t input_length;
  unsigned char *output;
  size_t output_capacity, output_length;
  int level;
  bool failed;
} GzipJob;

#ifdef SNAP_HAVE_LIBDEFLATE
/* Compressors per level and thread of libuv's pool, allocated on first use and kept for the process. */
static __thread struct libdeflate_compressor *thread_compressors[GZIP_MAX_LEVEL + 1];

static bool compress_member(GzipJob *job) {
  struct libdeflate_compressor **compressor = &thread_compressors[job->level];
  if (*compressor == NULL) *compressor = libdeflate_alloc_compressor(job->level);
  if (*compressor == NULL) return false;
  job->output_length = libdeflate_gzip_compress(*compressor, job->input, job->input_length, job->output, job->output_capacity);
  return job->output_length > 0;
}
#else
static bool compress_member(GzipJob *job) {
  z_stream stream;
  memset(&stream, 0, sizeof stream);
  /* windowBits 15 + 16 selects the gzip wrapper; memLevel 8 is zlib's and node's default. */
  if (deflateInit2(&stream, job->level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return false;
  stream.next_in = (Bytef *)job->input;
  stream.avail_in = (uInt)job->input_length;
  stream.next_out = job->output;
  stream.avail_out = (uInt)job->output_capacity;
  int rc = deflate(&stream, Z_FINISH);
  job->output_length = stream.total_out;
  deflateEnd(&stream);
  return rc == Z_STREAM_END;
}
#endif

static void execute(napi_env env, void *data) {
  (void)env;
  GzipJob *job = data;
  job->failed = !compress_member(job);
}

static void complete(napi_env env, napi_status status, void *data) {
  GzipJob *job = data;
  napi_value result = NULL;
  if (status == napi_ok && !job->failed) status = napi_create_double(env, (double)job->output_length, &result);
  if (status == napi_ok && !job->failed) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message, error;
    napi_create_string_utf8(env, "gzip compression failed: out of memory, or the output buffer is too small",
                            NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  napi_delete_reference(env, job->input_ref);
  napi_delete_reference(env, job->output_ref);
  free(job);
}

/*
 * gzipMember(data: Uint8Array, level: number, output: Uint8Array): Promise<number>, the length of
 * the member written to the start of `output`. An output of gzipBound(data.length) bytes always
 * has room. The caller must not touch `data` or `output` until the promise settles.
 */
napi_value snap_gzip_member(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!get_args(env, info, 3, args)) return NULL;
  void *input = NULL, *output = NULL;
  size_t length = 0, capacity = 0;
  if (!bytes_arg(env, args[0], "gzipMember: data must be a Buffer or Uint8Array", &input, &length)) return NULL;
  if (!bytes_arg(env, args[2], "gzipMember: output must be a Buffer or Uint8Array", &output, &capacity)) return NULL;
  int32_t level = 0;
  if (napi_get_value_int32(env, args[1], &level) != napi_ok || level < 1 || level > GZIP_MAX_LEVEL) {
    napi_throw_range_error(env, NULL, "gzipMember: level must be an integer from 1 to " GZIP_MAX_LEVEL_TEXT);
    return NULL;
  }
  if (length > UINT32_MAX / 2) {
    napi_throw_range_error(env, NULL, "gzipMember: data must be smaller than 2 GiB");
    return NULL;
  }

  GzipJob *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, "ENOMEM", "snap_native: out of memory");
    return NULL;
  }
  job->input = input;
  job->input_length = length;
  job->output = output;
  job->output_capacity = capacity;
  job->level = level;
  napi_value promise;
  bool referenced = napi_create_reference(env, args[0], 1, &job->input_ref) == napi_ok &&
                    napi_create_reference(env, args[2], 1, &job->output_ref) == napi_ok;
  if (!referenced) throw_napi_failure(env);
  if (!referenced || !queue_work(env, "gzipMember", execute, complete, job, &job->work, &job->deferred, &promise)) {
    if (job->input_ref != NULL) napi_delete_reference(env, job->input_ref);
    if (job->output_ref != NULL) napi_delete_reference(env, job->output_ref);
    free(job);
    return NULL;
  }
  return promise;
}

/*
 * gzipBound(length: number): number, room enough for the gzip member of `length` input bytes at
 * any level. With libdeflate it is the library's worst case for any compressor. With zlib it is
 * compressBound (for the 6-byte zlib wrapper) plus the 12 bytes more that the gzip wrapper takes.
 */
napi_value snap_gzip_bound(napi_env env, napi_callback_info info) {
  napi_value args[1], result;
  double length = 0;
  if (!get_args(env, info, 1, args)) return NULL;
  if (napi_get_value_double(env, args[0], &length) != napi_ok || !(length >= 0 && length <= UINT32_MAX / 2)) {
    napi_throw_range_error(env, NULL, "gzipBound: length must be a number from 0 to 2 GiB");
    return NULL;
  }
#ifdef SNAP_HAVE_LIBDEFLATE
  size_t bound = libdeflate_gzip_compress_bound(NULL, (size_t)length);
#else
  size_t bound = (size_t)compressBound((uLong)length) + 12;
#endif
  if (napi_create_double(env, (double)bound, &result) != napi_ok) return throw_napi_failure(env);
  return result;
}

/* Returns { library: 'libdeflate' | 'zlib', maxLevel }: what gzipMember compresses with. */
napi_value snap_gzip_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, library, max_level;
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_string_utf8(env, GZIP_LIBRARY, NAPI_AUTO_LENGTH, &library) != napi_ok ||
      napi_create_int32(env, GZIP_MAX_LEVEL, &max_level) != napi_ok ||
      napi_set_named_property(env, result, "library", library) != napi_ok ||
      napi_set_named_property(env, result, "maxLevel", max_level) != napi_ok)
    return throw_napi_failure(env);
  return result;
}
