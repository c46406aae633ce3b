/*
 * hashFiles: reads a batch of regular files on one of libuv's threads and hashes each as a Git
 * blob ("blob SIZE\0" + content, SHA-1). Depending on the mode it also deflates the content for a
 * pack or stores the whole object as a loose object. C on the thread pool needs no V8 heap, where a
 * JavaScript worker thread costs tens of megabytes.
 *
 * SHA-1 and deflate come from the OpenSSL and zlib that the node binary links statically and
 * exports; node-gyp puts their headers on the include path.
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <node_api.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "snap_native.h"

/* Modes, as src/native/index.ts passes them. */
enum { MODE_HASH = 0, MODE_PACK = 1, MODE_LOOSE = 2 };

/* zlib level of new objects; git's core.looseCompression defaults to 1 as well. */
#define DEFLATE_LEVEL 1

/* Largest size of an item in MODE_PACK, whose whole content is held in memory once. */
#define MAX_PACK_ITEM_SIZE ((double)(1u << 30))

/* Largest size of an item in the other modes: 2^53, up to which a JS number is exact. */
#define MAX_ITEM_SIZE 9007199254740992.0

/*
 * Outside MODE_PACK, files larger than this are read and deflated in chunks of this size, so a
 * batch keeps at most two chunks of such a file in memory.
 */
#define STREAM_CHUNK ((size_t)1 << 20)

typedef struct {
  char *path;
  size_t size;
  unsigned char oid[20];
  /* MODE_PACK: the content deflated (zlib format), malloc'd. */
  unsigned char *data;
  size_t data_length;
  /* 0, an errno value, or -1 when the file's size differed from `size` (length in `actual`). */
  int err;
  const char *syscall;
  size_t actual;
} HashItem;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  /* Optional Buffer that deflated data is copied into, so small results need no allocation each. */
  napi_ref out;
  int mode;
  char *objects_dir;
  HashItem *items;
  size_t count;
} HashBatch;

/* Numbers temporary object names uniquely within the process, across threads. */
static unsigned long temp_counter;

static void free_batch(HashBatch *batch) {
  for (size_t i = 0; i < batch->count; i++) {
    free(batch->items[i].path);
    free(batch->items[i].data);
  }
  free(batch->items);
  free(batch->objects_dir);
  free(batch);
}

/* Reads up to `capacity` bytes of the file at fd. Returns the length read, or -1 with errno set. */
static ssize_t read_all(int fd, unsigned char *buffer, size_t capacity) {
  size_t length = 0;
  while (length < capacity) {
    ssize_t got = read(fd, buffer + length, capacity - length);
    if (got < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (got == 0) break;
    length += (size_t)got;
  }
  return (ssize_t)length;
}

static bool sha1_blob(const unsigned char *header, size_t header_length, const unsigned char *content,
                      size_t length, unsigned char out[20]) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned int out_length = 0;
  bool ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
            EVP_DigestUpdate(ctx, header, header_length) == 1 && EVP_DigestUpdate(ctx, content, length) == 1 &&
            EVP_DigestFinal_ex(ctx, out, &out_length) == 1 && out_length == 20;
  EVP_MD_CTX_free(ctx);
  return ok;
}

/* Deflates the parts in order into one zlib stream in a malloc'd buffer. Returns false on ENOMEM. */
static bool deflate_parts(const unsigned char *first, size_t first_length, const unsigned char *second,
                          size_t second_length, unsigned char **out, size_t *out_length) {
  z_stream stream;
  memset(&stream, 0, sizeof stream);
  if (deflateInit(&stream, DEFLATE_LEVEL) != Z_OK) return false;
  uLong bound = deflateBound(&stream, (uLong)(first_length + second_length));
  unsigned char *buffer = malloc(bound);
  if (buffer == NULL) {
    deflateEnd(&stream);
    return false;
  }
  stream.next_out = buffer;
  stream.avail_out = (uInt)bound;
  stream.next_in = (unsigned char *)first;
  stream.avail_in = (uInt)first_length;
  int rc = deflate(&stream, second_length > 0 ? Z_NO_FLUSH : Z_FINISH);
  if (rc == Z_OK && second_length > 0) {
    stream.next_in = (unsigned char *)second;
    stream.avail_in = (uInt)second_length;
    rc = deflate(&stream, Z_FINISH);
  }
  size_t length = stream.total_out;
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) {
    free(buffer);
    return false;
  }
  *out = buffer;
  *out_length = length;
  return true;
}

static int write_all(int fd, const unsigned char *data, size_t length) {
  while (length > 0) {
    ssize_t put = write(fd, data, length);
    if (put < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += put;
    length -= (size_t)put;
  }
  return 0;
}

/*
 * Sets *dir to objects/xx and *final to objects/xx/yyyy for `oid`, both malloc'd. Returns false
 * when memory runs out; the caller frees both in either case.
 */
static bool object_paths(const char *objects_dir, const unsigned char oid[20], char **dir, char **final) {
  char hex[41];
  for (int i = 0; i < 20; i++) snprintf(hex + 2 * i, 3, "%02x", oid[i]);
  size_t dir_length = strlen(objects_dir);
  *dir = malloc(dir_length + 4);
  *final = malloc(dir_length + 43);
  if (*dir == NULL || *final == NULL) return false;
  snprintf(*dir, dir_length + 4, "%s/%.2s", objects_dir, hex);
  snprintf(*final, dir_length + 43, "%s/%s", *dir, hex + 2);
  return true;
}

/*
 * Creates a new temporary object file dir/tmp_obj_PID_N for writing and returns its descriptor,
 * with its name in `temp` (of `size` bytes), or -1 with errno set. A name that exists already is
 * skipped for the next N: a process killed while writing leaves its files behind, and in a PID
 * namespace the next snap can have the same PID.
 */
static int open_temp(const char *dir, char *temp, size_t size) {
  for (int attempt = 0; attempt < 1000; attempt++) {
    unsigned long n = __atomic_add_fetch(&temp_counter, 1, __ATOMIC_RELAXED);
    if (snprintf(temp, size, "%s/tmp_obj_%ld_%lu", dir, (long)getpid(), n) >= (int)size) {
      errno = ENAMETOOLONG;
      return -1;
    }
    int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  return -1;
}

/*
 * Stores a deflated object as objects/xx/yyyy unless it exists: written to a temporary file in the
 * same directory and renamed, since a rename within one directory avoids the filesystem-wide lock
 * that renames across directories take. Returns 0 or an errno value, naming the call in *syscall.
 */
static int store_loose(const char *objects_dir, const unsigned char oid[20], const unsigned char *data,
                       size_t length, const char **syscall) {
  char *dir = NULL, *final = NULL;
  size_t temp_size = strlen(objects_dir) + 100;
  char *temp = malloc(temp_size);
  int err = 0;
  if (temp == NULL || !object_paths(objects_dir, oid, &dir, &final)) {
    err = ENOMEM;
    *syscall = "malloc";
    goto done;
  }
  struct stat st;
  if (lstat(final, &st) == 0) goto done;
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    err = errno;
    *syscall = "mkdir";
    goto done;
  }
  int fd = open_temp(dir, temp, temp_size);
  if (fd < 0) {
    err = errno;
    *syscall = "open";
    goto done;
  }
  if (write_all(fd, data, length) != 0) {
    err = errno;
    *syscall = "write";
  }
  if (close(fd) != 0 && err == 0) {
    err = errno;
    *syscall = "close";
  }
  if (err == 0 && rename(temp, final) != 0) {
    err = errno;
    *syscall = "rename";
  }
  if (err != 0) unlink(temp);
done:
  free(dir);
  free(final);
  free(temp);
  return err;
}

/*
 * Moves the finished temporary object `temp` to objects/xx/yyyy, or deletes it when that object
 * exists already. Returns 0 or an errno value, naming the call in *syscall.
 */
static int install_temp(const char *objects_dir, const unsigned char oid[20], const char *temp, const char **syscall) {
  char *dir = NULL, *final = NULL;
  int err = 0;
  bool renamed = false;
  if (!object_paths(objects_dir, oid, &dir, &final)) {
    err = ENOMEM;
    *syscall = "malloc";
    goto done;
  }
  struct stat st;
  if (lstat(final, &st) == 0) goto done;
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    err = errno;
    *syscall = "mkdir";
  } else if (rename(temp, final) != 0) {
    err = errno;
    *syscall = "rename";
  } else {
    renamed = true;
  }
done:
  if (!renamed) unlink(temp);
  free(dir);
  free(final);
  return err;
}

/*
 * Deflates `length` bytes of input with `flush` and writes all output produced to fd, through
 * `out` (STREAM_CHUNK bytes). Returns 0 or an errno value, naming the call in *syscall.
 */
static int deflate_to_file(z_stream *stream, const unsigned char *input, size_t length, int flush, unsigned char *out,
                           int fd, const char **syscall) {
  stream->next_in = (unsigned char *)input;
  stream->avail_in = (uInt)length;
  do {
    stream->next_out = out;
    stream->avail_out = (uInt)STREAM_CHUNK;
    if (deflate(stream, flush) == Z_STREAM_ERROR) {
      *syscall = "deflate";
      return EIO;
    }
    if (write_all(fd, out, STREAM_CHUNK - stream->avail_out) != 0) {
      *syscall = "write";
      return errno;
    }
  } while (stream->avail_out == 0);
  return 0;
}

/*
 * Hashes the file open at fd in chunks. In MODE_LOOSE it also deflates each chunk into a
 * temporary file in objects/, which becomes objects/xx/yyyy once the id is known. Reading stops
 * one byte past the expected size, so a file that grew is reported without reading it all.
 */
static void stream_item(const HashBatch *batch, HashItem *item, int fd) {
  bool store = batch->mode == MODE_LOOSE;
  unsigned char *chunk = malloc(STREAM_CHUNK);
  unsigned char *out = store ? malloc(STREAM_CHUNK) : NULL;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  char temp[PATH_MAX];
  int temp_fd = -1;
  /* Set while this call owns a temporary file that must be deleted on failure. */
  bool temp_owned = false;
  z_stream stream;
  bool deflating = false;
  memset(&stream, 0, sizeof stream);
  if (chunk == NULL || (store && out == NULL) || ctx == NULL) {
    item->err = ENOMEM;
    item->syscall = "malloc";
    goto done;
  }

  char header[32];
  int header_length = snprintf(header, sizeof header, "blob %zu", item->size) + 1;
  if (EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) != 1 || EVP_DigestUpdate(ctx, header, (size_t)header_length) != 1) {
    item->err = EIO;
    item->syscall = "sha1";
    goto done;
  }
  if (store) {
    temp_fd = open_temp(batch->objects_dir, temp, sizeof temp);
    if (temp_fd < 0) {
      item->err = errno;
      item->syscall = "open";
      goto done;
    }
    temp_owned = true;
    if (deflateInit(&stream, DEFLATE_LEVEL) != Z_OK) {
      item->err = ENOMEM;
      item->syscall = "deflate";
      goto done;
    }
    deflating = true;
    item->err = deflate_to_file(&stream, (unsigned char *)header, (size_t)header_length, Z_NO_FLUSH, out, temp_fd, &item->syscall);
    if (item->err != 0) goto done;
  }

  size_t total = 0;
  for (;;) {
    size_t want = item->size + 1 - total < STREAM_CHUNK ? item->size + 1 - total : STREAM_CHUNK;
    ssize_t got = read_all(fd, chunk, want);
    if (got < 0) {
      item->err = errno;
      item->syscall = "read";
      goto done;
    }
    total += (size_t)got;
    if (total > item->size || got == 0) break;
    if (EVP_DigestUpdate(ctx, chunk, (size_t)got) != 1) {
      item->err = EIO;
      item->syscall = "sha1";
      goto done;
    }
    if (store) {
      item->err = deflate_to_file(&stream, chunk, (size_t)got, Z_NO_FLUSH, out, temp_fd, &item->syscall);
      if (item->err != 0) goto done;
    }
  }
  if (total != item->size) {
    item->err = -1;
    item->actual = total;
    goto done;
  }

  unsigned int oid_length = 0;
  if (EVP_DigestFinal_ex(ctx, item->oid, &oid_length) != 1 || oid_length != 20) {
    item->err = EIO;
    item->syscall = "sha1";
    goto done;
  }
  if (store) {
    item->err = deflate_to_file(&stream, NULL, 0, Z_FINISH, out, temp_fd, &item->syscall);
    if (item->err != 0) goto done;
    int closed = close(temp_fd);
    temp_fd = -1;
    if (closed != 0) {
      item->err = errno;
      item->syscall = "close";
      goto done;
    }
    temp_owned = false;
    item->err = install_temp(batch->objects_dir, item->oid, temp, &item->syscall);
  }

done:
  if (temp_fd >= 0) close(temp_fd);
  if (temp_owned) unlink(temp);
  if (deflating) deflateEnd(&stream);
  EVP_MD_CTX_free(ctx);
  free(chunk);
  free(out);
}

/* Hashes (and deflates or stores) one item, reading it into *buffer, which grows as needed. */
static void hash_item(const HashBatch *batch, HashItem *item, unsigned char **buffer, size_t *capacity) {
  int fd = open(item->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
  if (fd < 0) {
    item->err = errno;
    item->syscall = "open";
    return;
  }
  if (batch->mode != MODE_PACK && item->size > STREAM_CHUNK) {
    stream_item(batch, item, fd);
    close(fd);
    return;
  }
  /* One byte more than expected shows a file that grew since it was scanned. */
  if (*capacity < item->size + 1) {
    unsigned char *grown = realloc(*buffer, item->size + 1);
    if (grown == NULL) {
      close(fd);
      item->err = ENOMEM;
      item->syscall = "malloc";
      return;
    }
    *buffer = grown;
    *capacity = item->size + 1;
  }
  ssize_t length = read_all(fd, *buffer, item->size + 1);
  int read_err = errno;
  close(fd);
  if (length < 0) {
    item->err = read_err;
    item->syscall = "read";
    return;
  }
  if ((size_t)length != item->size) {
    item->err = -1;
    item->actual = (size_t)length;
    return;
  }

  char header[32];
  int header_length = snprintf(header, sizeof header, "blob %zu", item->size) + 1;
  if (!sha1_blob((unsigned char *)header, (size_t)header_length, *buffer, item->size, item->oid)) {
    item->err = EIO;
    item->syscall = "sha1";
    return;
  }
  if (batch->mode == MODE_PACK) {
    if (!deflate_parts(*buffer, item->size, NULL, 0, &item->data, &item->data_length)) {
      item->err = ENOMEM;
      item->syscall = "deflate";
    }
  } else if (batch->mode == MODE_LOOSE) {
    unsigned char *data = NULL;
    size_t data_length = 0;
    if (!deflate_parts((unsigned char *)header, (size_t)header_length, *buffer, item->size, &data, &data_length)) {
      item->err = ENOMEM;
      item->syscall = "deflate";
      return;
    }
    item->err = store_loose(batch->objects_dir, item->oid, data, data_length, &item->syscall);
    free(data);
  }
}

static void execute(napi_env env, void *data) {
  (void)env;
  HashBatch *batch = data;
  unsigned char *buffer = NULL;
  size_t capacity = 0;
  for (size_t i = 0; i < batch->count; i++) hash_item(batch, &batch->items[i], &buffer, &capacity);
  free(buffer);
}

/* Builds an error object like Node's system errors, or the ECHANGED error of a resized file. */
static napi_status item_error(napi_env env, const HashItem *item, napi_value *out) {
  char message[256];
  const char *code;
  if (item->err == -1) {
    code = "ECHANGED";
    snprintf(message, sizeof message, "changed size while being read (%zu -> %zu bytes)", item->size, item->actual);
  } else {
    code = snap_errno_code(item->err);
    int prefix = snprintf(message, sizeof message, "%s: ", code);
    snprintf(message + prefix, sizeof message - prefix, "%s, %s", strerror(item->err), item->syscall);
    /* libuv's messages, which Node's errors carry, start in lower case ("no such file ..."). */
    message[prefix] = (char)tolower((unsigned char)message[prefix]);
  }
  napi_value code_value, message_value;
  napi_status status;
  if ((status = napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value)) != napi_ok) return status;
  if ((status = napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value)) != napi_ok) return status;
  if ((status = napi_create_object(env, out)) != napi_ok) return status;
  if ((status = napi_set_named_property(env, *out, "code", code_value)) != napi_ok) return status;
  return napi_set_named_property(env, *out, "message", message_value);
}

/*
 * Resolves with { oids: Buffer of 20-byte ids, data: (Uint8Array | null)[], errors: (object | null)[] }.
 * With an `out` Buffer, deflated data that fits is copied into it and returned as views of it.
 */
static napi_status build_reply(napi_env env, HashBatch *batch, napi_value *reply) {
  napi_status status;
  napi_value oids, data, errors, null_value, out_arraybuffer = NULL;
  void *oid_bytes = NULL;
  unsigned char *out_bytes = NULL;
  size_t out_length = 0, out_used = 0, out_offset = 0;

  /* out's own bytes (data points at its first byte) and the ArrayBuffer that views are made on. */
  if (batch->out != NULL) {
    napi_value out;
    napi_typedarray_type type;
    void *bytes = NULL;
    if ((status = napi_get_reference_value(env, batch->out, &out)) != napi_ok) return status;
    status = napi_get_typedarray_info(env, out, &type, &out_length, &bytes, &out_arraybuffer, &out_offset);
    if (status != napi_ok) return status;
    out_bytes = bytes;
  }

  if ((status = napi_create_object(env, reply)) != napi_ok) return status;
  if ((status = napi_get_null(env, &null_value)) != napi_ok) return status;
  if ((status = napi_create_buffer(env, batch->count * 20, &oid_bytes, &oids)) != napi_ok) return status;
  if ((status = napi_create_array_with_length(env, batch->count, &data)) != napi_ok) return status;
  if ((status = napi_create_array_with_length(env, batch->count, &errors)) != napi_ok) return status;

  for (size_t i = 0; i < batch->count; i++) {
    HashItem *item = &batch->items[i];
    memcpy((unsigned char *)oid_bytes + i * 20, item->oid, 20);
    napi_value value = null_value, error = null_value;

    if (item->err != 0) {
      if ((status = item_error(env, item, &error)) != napi_ok) return status;
    } else if (item->data != NULL && out_bytes != NULL && item->data_length <= out_length - out_used) {
      memcpy(out_bytes + out_used, item->data, item->data_length);
      status = napi_create_typedarray(env, napi_uint8_array, item->data_length, out_arraybuffer, out_offset + out_used, &value);
      if (status != napi_ok) return status;
      out_used += item->data_length;
    } else if (item->data != NULL) {
      if ((status = napi_create_buffer_copy(env, item->data_length, item->data, NULL, &value)) != napi_ok) return status;
    }
    free(item->data);
    item->data = NULL;

    if ((status = napi_set_element(env, data, (uint32_t)i, value)) != napi_ok) return status;
    if ((status = napi_set_element(env, errors, (uint32_t)i, error)) != napi_ok) return status;
  }

  if ((status = napi_set_named_property(env, *reply, "oids", oids)) != napi_ok) return status;
  if ((status = napi_set_named_property(env, *reply, "data", data)) != napi_ok) return status;
  return napi_set_named_property(env, *reply, "errors", errors);
}

static void complete(napi_env env, napi_status status, void *data) {
  HashBatch *batch = data;
  napi_value reply = NULL;
  if (status == napi_ok) status = build_reply(env, batch, &reply);
  settle_promise(env, batch->deferred, status == napi_ok ? reply : NULL, "hashFiles");
  napi_delete_async_work(env, batch->work);
  if (batch->out != NULL) napi_delete_reference(env, batch->out);
  free_batch(batch);
}

/* Throws a TypeError naming the argument, frees the batch and returns NULL. */
static napi_value reject_args(napi_env env, HashBatch *batch, const char *message) {
  free_batch(batch);
  napi_throw_type_error(env, NULL, message);
  return NULL;
}

/*
 * hashFiles(paths: Buffer[], sizes: number[], mode: 0 | 1 | 2, objectsDir: string, out?: Buffer): Promise.
 * The sizes are the ones the scan reported; a file of another length yields an ECHANGED error.
 * The caller must leave `out` alone until the promise settles.
 */
napi_value snap_hash_files(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 4) {
    napi_throw_type_error(env, NULL, "hashFiles(paths, sizes, mode, objectsDir, out?) takes four or five arguments");
    return NULL;
  }
  HashBatch *batch = calloc(1, sizeof *batch);
  if (batch == NULL) {
    napi_throw_error(env, "ENOMEM", "snap_native: out of memory");
    return NULL;
  }
  uint32_t count = 0, size_count = 0;
  int32_t mode = 0;
  size_t dir_length = 0;
  if (napi_get_array_length(env, args[0], &count) != napi_ok) return reject_args(env, batch, "hashFiles: paths must be an array of Buffers");
  if (napi_get_array_length(env, args[1], &size_count) != napi_ok || size_count != count)
    return reject_args(env, batch, "hashFiles: sizes must be an array as long as paths");
  if (napi_get_value_int32(env, args[2], &mode) != napi_ok || mode < MODE_HASH || mode > MODE_LOOSE)
    return reject_args(env, batch, "hashFiles: mode must be 0 (hash), 1 (pack) or 2 (loose)");
  if (napi_get_value_string_utf8(env, args[3], NULL, 0, &dir_length) != napi_ok)
    return reject_args(env, batch, "hashFiles: objectsDir must be a string");
  batch->mode = mode;
  batch->objects_dir = malloc(dir_length + 1);
  batch->items = calloc(count > 0 ? count : 1, sizeof *batch->items);
  if (batch->objects_dir == NULL || batch->items == NULL) return reject_args(env, batch, "hashFiles: out of memory");
  napi_get_value_string_utf8(env, args[3], batch->objects_dir, dir_length + 1, &dir_length);
  batch->count = count;

  for (uint32_t i = 0; i < count; i++) {
    napi_value path_value, size_value;
    void *bytes = NULL;
    size_t length = 0;
    double size = 0;
    bool is_buffer = false;
    if (napi_get_element(env, args[0], i, &path_value) != napi_ok || napi_is_buffer(env, path_value, &is_buffer) != napi_ok ||
        !is_buffer || napi_get_buffer_info(env, path_value, &bytes, &length) != napi_ok)
      return reject_args(env, batch, "hashFiles: every path must be a Buffer");
    if (memchr(bytes, 0, length) != NULL) return reject_args(env, batch, "hashFiles: a path contains a NUL byte");
    if (napi_get_element(env, args[1], i, &size_value) != napi_ok || napi_get_value_double(env, size_value, &size) != napi_ok ||
        !(size >= 0 && size <= (mode == MODE_PACK ? MAX_PACK_ITEM_SIZE : MAX_ITEM_SIZE)))
      return reject_args(env, batch, mode == MODE_PACK ? "hashFiles: every size must be a number from 0 to 1 GiB in pack mode"
                                                       : "hashFiles: every size must be a number from 0 to 2^53");
    char *path = malloc(length + 1);
    if (path == NULL) return reject_args(env, batch, "hashFiles: out of memory");
    memcpy(path, bytes, length);
    path[length] = '\0';
    batch->items[i].path = path;
    batch->items[i].size = (size_t)size;
  }

  if (argc >= 5) {
    napi_valuetype type;
    bool is_buffer = false;
    if (napi_typeof(env, args[4], &type) != napi_ok) return reject_args(env, batch, "hashFiles: out must be a Buffer");
    if (type != napi_undefined) {
      if (napi_is_buffer(env, args[4], &is_buffer) != napi_ok || !is_buffer) return reject_args(env, batch, "hashFiles: out must be a Buffer");
      if (napi_create_reference(env, args[4], 1, &batch->out) != napi_ok) return reject_args(env, batch, "hashFiles: out cannot be referenced");
    }
  }

  napi_value promise;
  if (!queue_work(env, "hashFiles", execute, complete, batch, &batch->work, &batch->deferred, &promise)) {
    if (batch->out != NULL) napi_delete_reference(env, batch->out);
    free_batch(batch);
    return NULL;
  }
  return promise;
}
