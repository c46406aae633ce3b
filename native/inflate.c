/*
 * inflateExact: inflates one zlib stream whose content has a known size into a new Buffer, in one
 * synchronous call. Node's zlib.inflateSync builds a stream object for every call, which costs
 * more than inflating a small tree or metadata blob, and a diff of two snapshots inflates about
 * a thousand of them. zlib is the one that the node binary links statically and exports.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

#include "snap_native.h"

/* zlib counts bytes in 32 bits, so longer input and output are passed in pieces of this size. */
#define PIECE ((size_t)1 << 30)

/* The largest size accepted. napi_create_buffer also fails above the Buffer limit of the node binary. */
#define MAX_SIZE ((double)((uint64_t)1 << 32))

static napi_value throw_damaged(napi_env env, const char *detail) {
  napi_throw_error(env, "Z_DATA_ERROR", detail);
  return NULL;
}

/*
 * inflateExact(input: Uint8Array, size: number): Buffer. Inflates the zlib stream at the start of
 * input, which must hold exactly `size` bytes. Bytes after the end of the stream are ignored, as
 * a pack entry is read with a margin. Throws an Error with code Z_DATA_ERROR when the stream is
 * damaged, cut short, or inflates to more or fewer bytes than `size`.
 */
napi_value inflate_exact(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;

  size_t input_length = 0;
  void *input = NULL;
  if (!bytes_arg(env, args[0], "inflateExact: input must be a Uint8Array", &input, &input_length)) return NULL;
  double size_number = -1;
  if (napi_get_value_double(env, args[1], &size_number) != napi_ok || !(size_number >= 0 && size_number <= MAX_SIZE) ||
      size_number != (double)(uint64_t)size_number) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "inflateExact: size must be an integer from 0 to 4 GiB");
    return NULL;
  }
  size_t size = (size_t)size_number;

  void *output = NULL;
  napi_value result;
  if (napi_create_buffer(env, size, &output, &result) != napi_ok) return throw_napi_failure(env);

  z_stream stream = {0};
  if (inflateInit(&stream) != Z_OK) {
    napi_throw_error(env, "ENOMEM", "inflateExact: zlib could not start");
    return NULL;
  }
  const unsigned char *in = input;
  unsigned char *out = output;
  size_t in_left = input_length, out_left = size;
  /* One byte past `size`, which only a stream of more than `size` bytes writes into. */
  unsigned char extra;
  bool past_end = false;
  int rc = Z_OK;
  for (;;) {
    if (stream.avail_in == 0 && in_left > 0) {
      stream.next_in = (Bytef *)in;
      stream.avail_in = (uInt)(in_left > PIECE ? PIECE : in_left);
      in += stream.avail_in;
      in_left -= stream.avail_in;
    }
    if (stream.avail_out == 0) {
      if (out_left > 0) {
        stream.next_out = out;
        stream.avail_out = (uInt)(out_left > PIECE ? PIECE : out_left);
        out += stream.avail_out;
        out_left -= stream.avail_out;
      } else if (!past_end) {
        stream.next_out = &extra;
        stream.avail_out = 1;
        past_end = true;
      } else {
        break;
      }
    }
    rc = inflate(&stream, Z_NO_FLUSH);
    /* Z_BUF_ERROR: no progress is possible, because the input ended before the stream did. */
    if (rc != Z_OK) break;
  }
  bool exact = rc == Z_STREAM_END && stream.total_out == size;
  inflateEnd(&stream);
  if (rc == Z_STREAM_END && !exact) return throw_damaged(env, "inflateExact: the stream inflates to another size than expected");
  if (rc == Z_OK || rc == Z_BUF_ERROR) return throw_damaged(env, "inflateExact: the stream is cut short or longer than expected");
  if (rc != Z_STREAM_END) return throw_damaged(env, "inflateExact: the stream is damaged");
  return result;
}
