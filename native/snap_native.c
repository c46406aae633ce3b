/*
 * snap_native: the Linux filesystem calls that snap needs and Node's fs module lacks, as a Node-API
 * addon.
 *
 *   readDirStat, lstatPath               readdir + fstatat / lstat, with nanosecond times and the
 *                                        major and minor numbers of device nodes, returned as a
 *                                        stat table (see "stat tables" below)
 *   readDirTables                        readDirStat of many directories at once on a few threads,
 *                                        off the JS thread (scan_many.c)
 *   listXattrs, setXattr, removeXattr    llistxattr, lgetxattr, lsetxattr, lremovexattr: the
 *                                        attributes of the path itself, never of a symlink's target
 *   makeDevice, makeFifo                 mknod with makedev, mkfifo
 *   setTimes                             utimensat with AT_SYMLINK_NOFOLLOW and exact nanoseconds
 *   openBeneath                          openat one name at a time with O_NOFOLLOW, for reading a
 *                                        file of a rootfs that may change meanwhile
 *   hashFiles                            Git blob ids of a batch of files, on libuv's thread pool
 *                                        (hash_files.c)
 *   gzipMember, gzipInfo, gzipBound      one gzip member of a buffer, on libuv's thread pool; the
 *                                        library it uses and the room a member needs (gzip.c)
 *
 * Paths are Buffers of raw bytes, so names that are not UTF-8 pass through unchanged. Every call
 * but hashFiles, gzipMember, readDirTables and unlinkMany is synchronous. A failed system call
 * throws an Error shaped like Node's system errors: `code` ('ENOENT'), `errno` (negative, as Node
 * sets it), `syscall`, and the message
 * "ENOENT: no such file or directory, lstat". Messages never contain path bytes, so callers add the
 * path in their own form.
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "snap_native.h"

/* Tries before giving up when an attribute list or value keeps changing size between calls. */
#define MAX_SIZE_RETRIES 64

/* Initial size of the buffer that attribute values are read into. It grows on ERANGE. */
#define VALUE_BUFFER_SIZE 4096

#define NS_PER_SECOND 1000000000

/* ---------- errors ---------- */

const char *snap_errno_code(int err) {
  switch (err) {
#define CODE(name) \
  case name:       \
    return #name;
    CODE(EPERM) CODE(ENOENT) CODE(ESRCH) CODE(EINTR) CODE(EIO) CODE(ENXIO) CODE(E2BIG)
    CODE(EBADF) CODE(EAGAIN) CODE(ENOMEM) CODE(EACCES) CODE(EFAULT) CODE(EBUSY) CODE(EEXIST)
    CODE(EXDEV) CODE(ENODEV) CODE(ENOTDIR) CODE(EISDIR) CODE(EINVAL) CODE(ENFILE) CODE(EMFILE)
    CODE(ENOTTY) CODE(ETXTBSY) CODE(EFBIG) CODE(ENOSPC) CODE(ESPIPE) CODE(EROFS) CODE(EMLINK)
    CODE(EPIPE) CODE(ERANGE) CODE(ENAMETOOLONG) CODE(ENOSYS) CODE(ENOTEMPTY) CODE(ELOOP)
    CODE(ENODATA) CODE(ENOTSUP) CODE(EOVERFLOW) CODE(EILSEQ) CODE(EDQUOT) CODE(ESTALE)
    CODE(EUCLEAN) CODE(ENOTCONN) CODE(ETIMEDOUT)
#if EOPNOTSUPP != ENOTSUP
    CODE(EOPNOTSUPP)
#endif
#undef CODE
    default:
      return "UNKNOWN";
  }
}

/* Throws a Node-style system error for errno value err from syscall. Always returns NULL. */
napi_value throw_errno(napi_env env, int err, const char *syscall) {
  const char *code = snap_errno_code(err);
  char message[256];
  int prefix = snprintf(message, sizeof message, "%s: ", code);
  snprintf(message + prefix, sizeof message - prefix, "%s, %s", strerror(err), syscall);
  /* libuv's messages, which Node's errors carry, start in lower case ("no such file ..."). */
  message[prefix] = (char)tolower((unsigned char)message[prefix]);

  napi_value code_value, message_value, error, errno_value, syscall_value;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value) != napi_ok ||
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value) != napi_ok ||
      napi_create_error(env, code_value, message_value, &error) != napi_ok ||
      napi_create_int32(env, -err, &errno_value) != napi_ok ||
      napi_set_named_property(env, error, "errno", errno_value) != napi_ok ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value) != napi_ok ||
      napi_set_named_property(env, error, "syscall", syscall_value) != napi_ok) {
    napi_throw_error(env, code, message);
    return NULL;
  }
  napi_throw(env, error);
  return NULL;
}

/* Throws for a failed Node-API call, unless that call left an exception pending. Returns NULL. */
napi_value throw_napi_failure(napi_env env) {
  /* Read the error first, because every Node-API call, napi_is_exception_pending too, resets it. */
  const napi_extended_error_info *info = NULL;
  char message[200];
  napi_get_last_error_info(env, &info);
  const char *detail = info != NULL && info->error_message != NULL ? info->error_message : "unknown error";
  snprintf(message, sizeof message, "snap_native: Node-API call failed: %s", detail);

  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, message);
  return NULL;
}

/* ---------- promises of async work ---------- */

/*
 * Creates a promise (its deferred in *deferred) and queues `execute` and then `complete` with
 * `data` on libuv's pool as the work *work, named "snap:NAME". Returns false with an exception
 * pending when that fails. The promise, if made, then stays pending, and no work is left queued.
 */
bool queue_work(napi_env env, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete,
                void *data, napi_async_work *work, napi_deferred *deferred, napi_value *promise) {
  char resource[64];
  snprintf(resource, sizeof resource, "snap:%s", name);
  napi_value resource_name;
  *work = NULL;
  if (napi_create_promise(env, deferred, promise) == napi_ok &&
      napi_create_string_utf8(env, resource, NAPI_AUTO_LENGTH, &resource_name) == napi_ok &&
      napi_create_async_work(env, NULL, resource_name, execute, complete, data, work) == napi_ok &&
      napi_queue_async_work(env, *work) == napi_ok)
    return true;
  if (*work != NULL) napi_delete_async_work(env, *work);
  char message[100];
  snprintf(message, sizeof message, "snap_native: %s could not queue its work", name);
  napi_throw_error(env, NULL, message);
  return false;
}

/*
 * Resolves `deferred` with `result`. A NULL result rejects it instead: with the pending exception
 * if there is one, else with an Error saying that NAME failed to build its result.
 */
void settle_promise(napi_env env, napi_deferred deferred, napi_value result, const char *name) {
  if (result != NULL) {
    napi_resolve_deferred(env, deferred, result);
    return;
  }
  napi_value error = NULL;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &error);
  if (error == NULL) {
    char text[100];
    napi_value message;
    snprintf(text, sizeof text, "snap_native: %s failed to build its result", name);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
  }
  napi_reject_deferred(env, deferred, error);
}

/* ---------- arguments ---------- */

/* Fills args with the first count arguments, setting missing ones to undefined. */
bool get_args(napi_env env, napi_callback_info info, size_t count, napi_value *args) {
  size_t given = count;
  if (napi_get_cb_info(env, info, &given, args, NULL, NULL) != napi_ok) {
    throw_napi_failure(env);
    return false;
  }
  return true;
}

/*
 * Reads the bytes of a Uint8Array argument (a Buffer is one). Returns false with a TypeError
 * (code ERR_INVALID_ARG_TYPE, the given message) pending otherwise.
 */
bool bytes_arg(napi_env env, napi_value value, const char *message, void **bytes, size_t *length) {
  bool is_typedarray = false;
  napi_typedarray_type type = napi_int8_array;
  if (napi_is_typedarray(env, value, &is_typedarray) != napi_ok || !is_typedarray ||
      napi_get_typedarray_info(env, value, &type, length, bytes, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  return true;
}

/*
 * Copies a Buffer argument into a malloc'd NUL-terminated string that the caller frees. Returns
 * NULL with an exception pending if the value is not a Buffer, or (EINVAL from syscall) if it
 * contains a NUL byte, which no path can.
 */
char *path_arg(napi_env env, napi_value value, const char *syscall) {
  bool is_buffer = false;
  if (napi_is_buffer(env, value, &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "path must be a Buffer");
    return NULL;
  }
  void *data = NULL;
  size_t length = 0;
  if (napi_get_buffer_info(env, value, &data, &length) != napi_ok) {
    throw_napi_failure(env);
    return NULL;
  }
  if (length > 0 && memchr(data, 0, length) != NULL) {
    throw_errno(env, EINVAL, syscall);
    return NULL;
  }
  char *path = malloc(length + 1);
  if (path == NULL) {
    throw_errno(env, ENOMEM, syscall);
    return NULL;
  }
  if (length > 0) memcpy(path, data, length);
  path[length] = '\0';
  return path;
}

/* Copies a string argument into a malloc'd UTF-8 C string and rejects an embedded NUL (EINVAL). */
static char *string_arg(napi_env env, napi_value value, const char *arg_name, const char *syscall) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_string) {
    char message[100];
    snprintf(message, sizeof message, "%s must be a string", arg_name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return NULL;
  }
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, NULL, 0, &length) != napi_ok) {
    throw_napi_failure(env);
    return NULL;
  }
  char *text = malloc(length + 1);
  if (text == NULL) {
    throw_errno(env, ENOMEM, syscall);
    return NULL;
  }
  if (napi_get_value_string_utf8(env, value, text, length + 1, &length) != napi_ok) {
    free(text);
    throw_napi_failure(env);
    return NULL;
  }
  if (strlen(text) != length) {
    free(text);
    throw_errno(env, EINVAL, syscall);
    return NULL;
  }
  return text;
}

/* Reads an integer argument in [0, max]. Anything else throws a TypeError or RangeError. */
static bool uint_arg(napi_env env, napi_value value, uint32_t max, const char *arg_name, uint32_t *out) {
  napi_valuetype type;
  double number = 0;
  char message[100];
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_number ||
      napi_get_value_double(env, value, &number) != napi_ok) {
    snprintf(message, sizeof message, "%s must be a number", arg_name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  if (!(number >= 0 && number <= max) || number != (double)(uint32_t)number) {
    snprintf(message, sizeof message, "%s must be an integer from 0 to %u", arg_name, max);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return false;
  }
  *out = (uint32_t)number;
  return true;
}

/* Reads a BigInt argument that fits in int64 (seconds since the epoch). */
static bool seconds_arg(napi_env env, napi_value value, const char *arg_name, int64_t *out) {
  napi_valuetype type;
  bool lossless = false;
  char message[100];
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_bigint) {
    snprintf(message, sizeof message, "%s must be a bigint", arg_name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  if (napi_get_value_bigint_int64(env, value, out, &lossless) != napi_ok) {
    throw_napi_failure(env);
    return false;
  }
  if (!lossless) {
    snprintf(message, sizeof message, "%s is out of range", arg_name);
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
    return false;
  }
  return true;
}

/* ---------- stat tables ---------- */

/*
 * readDirStat and lstatPath return a stat table, not StatInfo objects: the fields of every entry
 * in flat typed arrays, which src/native/index.ts turns into objects with one object literal.
 * On a directory of 100,000 files, setting 13 properties on each object through Node-API took
 * longer than fs.readdirSync with fs.lstatSync per entry, while the table plus the literal took
 * less than either.
 *
 *   names    Buffer, the name bytes of all entries one after another
 *   numbers  Float64Array, NUMBER_FIELDS per entry (F_* in snap_native.h)
 *   bigints  BigUint64Array, BIGINT_FIELDS per entry (B_* in snap_native.h). The times are int64
 *            nanoseconds since the epoch, stored as two's complement. When the nanosecond count does not fit
 *            in 64 bits (before 1677 or after 2262), the entry's F_WIDE bit for that time is set,
 *            the slot contains tv_sec instead, and F_MTIME_NSEC or F_CTIME_NSEC contains tv_nsec.
 *
 * The F_* and B_* indexes (in snap_native.h) and the type codes must match src/native/index.ts.
 */
enum { WIDE_MTIME = 1, WIDE_CTIME = 2 };
enum { T_FILE, T_DIR, T_SYMLINK, T_CHAR, T_BLOCK, T_FIFO, T_SOCKET };

static int file_type(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return T_FILE;
    case S_IFDIR: return T_DIR;
    case S_IFLNK: return T_SYMLINK;
    case S_IFCHR: return T_CHAR;
    case S_IFBLK: return T_BLOCK;
    case S_IFIFO: return T_FIFO;
    case S_IFSOCK: return T_SOCKET;
    default: return -1;
  }
}

/* Stores a time as int64 nanoseconds, or as tv_sec with the wide bit set when that overflows. */
static void put_time(StatTable *table, struct timespec time, int bigint_field, int nsec_field, int wide_bit) {
  double *numbers = table->numbers + table->count * NUMBER_FIELDS;
  uint64_t *bigints = table->bigints + table->count * BIGINT_FIELDS;
  int64_t ns;
  bool overflow = __builtin_mul_overflow((int64_t)time.tv_sec, (int64_t)NS_PER_SECOND, &ns) ||
                  __builtin_add_overflow(ns, (int64_t)time.tv_nsec, &ns);
  numbers[nsec_field] = (double)time.tv_nsec;
  if (overflow) {
    bigints[bigint_field] = (uint64_t)(int64_t)time.tv_sec;
    numbers[F_WIDE] += wide_bit;
  } else {
    bigints[bigint_field] = (uint64_t)ns;
  }
}

/* Appends one entry. Returns 0, or an errno value (ENOMEM, or EINVAL for an unknown file type). */
static int table_append(StatTable *table, const char *name, size_t name_length, const struct stat *st) {
  int type = file_type(st->st_mode);
  if (type < 0) return EINVAL;
  if (table->count == table->capacity) {
    size_t capacity = table->capacity > 0 ? table->capacity * 2 : 256;
    double *numbers = realloc(table->numbers, capacity * NUMBER_FIELDS * sizeof *numbers);
    if (numbers == NULL) return ENOMEM;
    table->numbers = numbers;
    uint64_t *bigints = realloc(table->bigints, capacity * BIGINT_FIELDS * sizeof *bigints);
    if (bigints == NULL) return ENOMEM;
    table->bigints = bigints;
    table->capacity = capacity;
  }
  if (table->names_length + name_length > table->names_capacity) {
    size_t capacity = table->names_capacity > 0 ? table->names_capacity * 2 : 4096;
    while (capacity < table->names_length + name_length) capacity *= 2;
    char *names = realloc(table->names, capacity);
    if (names == NULL) return ENOMEM;
    table->names = names;
    table->names_capacity = capacity;
  }
  memcpy(table->names + table->names_length, name, name_length);
  table->names_length += name_length;

  bool device = type == T_CHAR || type == T_BLOCK;
  double *numbers = table->numbers + table->count * NUMBER_FIELDS;
  uint64_t *bigints = table->bigints + table->count * BIGINT_FIELDS;
  numbers[F_TYPE] = type;
  numbers[F_MODE] = st->st_mode & 07777;
  numbers[F_UID] = st->st_uid;
  numbers[F_GID] = st->st_gid;
  numbers[F_SIZE] = (double)st->st_size;
  numbers[F_NLINK] = (double)st->st_nlink;
  numbers[F_RDEV_MAJOR] = device ? major(st->st_rdev) : 0;
  numbers[F_RDEV_MINOR] = device ? minor(st->st_rdev) : 0;
  numbers[F_NAME_END] = (double)table->names_length;
  numbers[F_WIDE] = 0;
  bigints[B_DEV] = (uint64_t)st->st_dev;
  bigints[B_INO] = (uint64_t)st->st_ino;
  put_time(table, st->st_mtim, B_MTIME, F_MTIME_NSEC, WIDE_MTIME);
  put_time(table, st->st_ctim, B_CTIME, F_CTIME_NSEC, WIDE_CTIME);
  table->count++;
  return 0;
}

void table_free(StatTable *table) {
  free(table->numbers);
  free(table->bigints);
  free(table->names);
}

/* Creates a typed array over a new ArrayBuffer holding a copy of length elements of data. */
static napi_status copy_typed_array(napi_env env, napi_typedarray_type type, const void *data,
                                    size_t length, size_t element_size, napi_value *out) {
  void *storage = NULL;
  napi_value buffer;
  napi_status status = napi_create_arraybuffer(env, length * element_size, &storage, &buffer);
  if (status != napi_ok) return status;
  if (length > 0) memcpy(storage, data, length * element_size);
  return napi_create_typedarray(env, type, length, buffer, 0, out);
}

/* Returns { names, numbers, bigints } for table, or NULL with an exception pending. */
napi_value table_to_js(napi_env env, const StatTable *table) {
  napi_value result, names, numbers, bigints;
  if (napi_create_object(env, &result) != napi_ok ||
      napi_create_buffer_copy(env, table->names_length, table->names_length > 0 ? table->names : "",
                              NULL, &names) != napi_ok ||
      copy_typed_array(env, napi_float64_array, table->numbers, table->count * NUMBER_FIELDS,
                       sizeof(double), &numbers) != napi_ok ||
      copy_typed_array(env, napi_biguint64_array, table->bigints, table->count * BIGINT_FIELDS,
                       sizeof(uint64_t), &bigints) != napi_ok ||
      napi_set_named_property(env, result, "names", names) != napi_ok ||
      napi_set_named_property(env, result, "numbers", numbers) != napi_ok ||
      napi_set_named_property(env, result, "bigints", bigints) != napi_ok)
    return throw_napi_failure(env);
  return result;
}

/* ---------- readDirStat ---------- */

/*
 * Fills table by reading dir and calling fstatat(AT_SYMLINK_NOFOLLOW) on every entry but . and ..
 * relative to it. An entry removed between readdir and fstatat (ENOENT) is left out, as if readdir
 * had not returned it. Returns 0 or an errno value, with the failed call in *syscall.
 */
int scan_directory(DIR *dir, StatTable *table, const char **syscall) {
  for (;;) {
    errno = 0;
    struct dirent *entry = readdir(dir);
    if (entry == NULL) {
      *syscall = "readdir";
      return errno;
    }
    const char *name = entry->d_name;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;

    struct stat st;
    if (fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      *syscall = "fstatat";
      return errno;
    }
    int err = table_append(table, name, strlen(name), &st);
    if (err != 0) {
      *syscall = err == ENOMEM ? "malloc" : "fstatat";
      return err;
    }
  }
}

/* readDirStat(dir: Buffer): a stat table of the entries of dir, in readdir order. */
static napi_value read_dir_stat(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  char *path = path_arg(env, args[0], "open");
  if (path == NULL) return NULL;

  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int err = errno;
  free(path);
  if (fd < 0) return throw_errno(env, err, "open");
  DIR *dir = fdopendir(fd);
  if (dir == NULL) {
    err = errno;
    close(fd);
    return throw_errno(env, err, "fdopendir");
  }

  StatTable table = {0};
  const char *syscall = NULL;
  err = scan_directory(dir, &table, &syscall);
  closedir(dir);
  napi_value result = err != 0 ? throw_errno(env, err, syscall) : table_to_js(env, &table);
  table_free(&table);
  return result;
}

/* ---------- lstatPath ---------- */

/* lstatPath(path: Buffer): a stat table of one entry, whose name is path. */
static napi_value lstat_path(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  char *path = path_arg(env, args[0], "lstat");
  if (path == NULL) return NULL;

  struct stat st;
  StatTable table = {0};
  int err = lstat(path, &st) == 0 ? table_append(&table, path, strlen(path), &st) : errno;
  free(path);
  const char *syscall = err == ENOMEM ? "malloc" : "lstat";
  napi_value result = err != 0 ? throw_errno(env, err, syscall) : table_to_js(env, &table);
  table_free(&table);
  return result;
}

/* ---------- openBeneath ---------- */

/*
 * openBeneath(root: Buffer, relative: Buffer): number. Opens root/relative for reading one name at
 * a time, with O_NOFOLLOW on every name, so a directory on the way that was replaced by a symlink
 * fails (ELOOP or ENOTDIR) instead of leading out of root. The file itself is opened O_NONBLOCK,
 * so a FIFO in its place does not block. Returns the file descriptor, which the caller closes.
 */
static napi_value open_beneath(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  char *root = path_arg(env, args[0], "open");
  if (root == NULL) return NULL;
  char *relative = path_arg(env, args[1], "openat");
  if (relative == NULL) {
    free(root);
    return NULL;
  }

  int err = 0;
  const char *syscall = "open";
  int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) err = errno;
  char *name = relative;
  while (err == 0) {
    char *slash = strchr(name, '/');
    if (slash != NULL) *slash = '\0';
    int flags = slash != NULL ? O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
                              : O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    int next = (name[0] == '\0' || strcmp(name, "..") == 0) ? (errno = EINVAL, -1) : openat(dir, name, flags);
    if (next < 0) {
      err = errno;
      syscall = "openat";
      break;
    }
    close(dir);
    dir = next;
    if (slash == NULL) break;
    name = slash + 1;
  }
  free(root);
  free(relative);
  if (err != 0) {
    if (dir >= 0) close(dir);
    return throw_errno(env, err, syscall);
  }
  napi_value result;
  if (napi_create_int32(env, dir, &result) != napi_ok) {
    close(dir);
    return throw_napi_failure(env);
  }
  return result;
}

/* ---------- listXattrs ---------- */

/* Reads the NUL-separated attribute name list into *out (malloc'd, NULL when empty). */
static ssize_t read_name_list(const char *path, char **out) {
  *out = NULL;
  for (int attempt = 0; attempt < MAX_SIZE_RETRIES; attempt++) {
    ssize_t size = llistxattr(path, NULL, 0);
    if (size <= 0) return size;
    char *list = malloc((size_t)size);
    if (list == NULL) {
      errno = ENOMEM;
      return -1;
    }
    ssize_t got = llistxattr(path, list, (size_t)size);
    if (got >= 0) {
      *out = list;
      return got;
    }
    int err = errno;
    free(list);
    errno = err;
    /* ERANGE: an attribute was added since the size query. */
    if (err != ERANGE) return -1;
  }
  errno = ERANGE;
  return -1;
}

typedef struct {
  char *data;
  size_t capacity;
} ValueBuffer;

/* Reads one attribute value into buffer, growing it as needed. Returns its length or -1 with errno. */
static ssize_t read_value(const char *path, const char *name, ValueBuffer *buffer) {
  for (int attempt = 0; attempt < MAX_SIZE_RETRIES; attempt++) {
    ssize_t got = lgetxattr(path, name, buffer->data, buffer->capacity);
    if (got >= 0 || errno != ERANGE) return got;

    ssize_t size = lgetxattr(path, name, NULL, 0);
    if (size < 0) return -1;
    /* The value may change size again before the next read, so the loop retries on ERANGE. */
    if ((size_t)size > buffer->capacity) {
      char *grown = realloc(buffer->data, (size_t)size);
      if (grown == NULL) {
        errno = ENOMEM;
        return -1;
      }
      buffer->data = grown;
      buffer->capacity = (size_t)size;
    }
  }
  errno = ERANGE;
  return -1;
}

static int compare_names(const void *a, const void *b) {
  /* strcmp compares bytes as unsigned char, which is byte order. */
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reports whether text is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static bool is_utf8(const unsigned char *text) {
  while (*text) {
    unsigned char c = *text;
    int extra;
    uint32_t point, min;
    if (c < 0x80) {
      text++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, point = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, point = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, point = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    for (int i = 1; i <= extra; i++) {
      if ((text[i] & 0xc0) != 0x80) return false;
      point = (point << 6) | (text[i] & 0x3f);
    }
    if (point < min || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff)) return false;
    text += extra + 1;
  }
  return true;
}

/* Builds { name, value } for one attribute. Returns NULL with an exception pending on failure. */
static napi_value xattr_object(napi_env env, const char *name, const char *value, size_t length) {
  napi_value object, name_value, value_value;
  if (napi_create_object(env, &object) != napi_ok ||
      napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &name_value) != napi_ok ||
      napi_create_buffer_copy(env, length, value, NULL, &value_value) != napi_ok ||
      napi_set_named_property(env, object, "name", name_value) != napi_ok ||
      napi_set_named_property(env, object, "value", value_value) != napi_ok)
    return throw_napi_failure(env);
  return object;
}

/*
 * Fills list with the attributes named in names, sorted, skipping any removed since the listing
 * (ENODATA). Throws EILSEQ for a name that is not UTF-8, because a JS string cannot carry it
 * exactly and a lossy name would be restored as a different attribute.
 */
static bool fill_xattrs(napi_env env, const char *path, char *names, size_t names_length,
                        napi_value list) {
  size_t count = 0;
  for (size_t i = 0; i < names_length; i += strlen(names + i) + 1) count++;
  const char **sorted = malloc((count > 0 ? count : 1) * sizeof *sorted);
  ValueBuffer buffer = {malloc(VALUE_BUFFER_SIZE), VALUE_BUFFER_SIZE};
  bool ok = sorted != NULL && buffer.data != NULL;
  if (!ok) throw_errno(env, ENOMEM, "lgetxattr");

  size_t n = 0;
  for (size_t i = 0; ok && i < names_length; i += strlen(names + i) + 1) sorted[n++] = names + i;
  if (ok) qsort(sorted, count, sizeof *sorted, compare_names);

  uint32_t index = 0;
  for (size_t i = 0; ok && i < count; i++) {
    if (!is_utf8((const unsigned char *)sorted[i])) {
      throw_errno(env, EILSEQ, "llistxattr");
      ok = false;
      break;
    }
    ssize_t length = read_value(path, sorted[i], &buffer);
    if (length < 0 && errno == ENODATA) continue;
    if (length < 0) {
      throw_errno(env, errno, "lgetxattr");
      ok = false;
      break;
    }
    napi_value object = xattr_object(env, sorted[i], buffer.data, (size_t)length);
    ok = object != NULL;
    if (ok && napi_set_element(env, list, index++, object) != napi_ok) {
      throw_napi_failure(env);
      ok = false;
    }
  }
  free(buffer.data);
  free(sorted);
  return ok;
}

/*
 * listXattrs(path: Buffer): { name: string; value: Buffer }[], sorted by name in byte order.
 * A filesystem without extended attributes (ENOTSUP) yields [].
 */
static napi_value list_xattrs(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  char *path = path_arg(env, args[0], "llistxattr");
  if (path == NULL) return NULL;

  char *names = NULL;
  ssize_t names_length = read_name_list(path, &names);
  int err = errno;
  napi_value list = NULL;
  if (names_length < 0 && err != ENOTSUP) {
    throw_errno(env, err, "llistxattr");
  } else if (napi_create_array(env, &list) != napi_ok) {
    list = throw_napi_failure(env);
  } else if (names_length > 0 && !fill_xattrs(env, path, names, (size_t)names_length, list)) {
    list = NULL;
  }
  free(names);
  free(path);
  return list;
}

/* ---------- setXattr, removeXattr ---------- */

/* setXattr(path: Buffer, name: string, value: Buffer): lsetxattr with flags 0 (create or replace). */
static napi_value set_xattr(napi_env env, napi_callback_info info) {
  napi_value args[3];
  if (!get_args(env, info, 3, args)) return NULL;
  bool is_buffer = false;
  void *value = NULL;
  size_t length = 0;
  if (napi_is_buffer(env, args[2], &is_buffer) != napi_ok || !is_buffer) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "value must be a Buffer");
    return NULL;
  }
  if (napi_get_buffer_info(env, args[2], &value, &length) != napi_ok) return throw_napi_failure(env);
  char *path = path_arg(env, args[0], "lsetxattr");
  if (path == NULL) return NULL;
  char *name = string_arg(env, args[1], "name", "lsetxattr");
  if (name == NULL) {
    free(path);
    return NULL;
  }

  int rc = lsetxattr(path, name, length > 0 ? value : "", length, 0);
  int err = errno;
  free(name);
  free(path);
  return rc != 0 ? throw_errno(env, err, "lsetxattr") : NULL;
}

/* removeXattr(path: Buffer, name: string): lremovexattr. A missing attribute throws ENODATA. */
static napi_value remove_xattr(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  char *path = path_arg(env, args[0], "lremovexattr");
  if (path == NULL) return NULL;
  char *name = string_arg(env, args[1], "name", "lremovexattr");
  if (name == NULL) {
    free(path);
    return NULL;
  }

  int rc = lremovexattr(path, name);
  int err = errno;
  free(name);
  free(path);
  return rc != 0 ? throw_errno(env, err, "lremovexattr") : NULL;
}

/* ---------- makeDevice, makeFifo ---------- */

/*
 * makeDevice(path: Buffer, type: 'char' | 'block', mode: number, major: number, minor: number):
 * mknod with the permission bits in mode, which the process umask still masks.
 */
static napi_value make_device(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!get_args(env, info, 5, args)) return NULL;
  char type[8] = "";
  size_t type_length = 0;
  napi_valuetype type_kind;
  if (napi_typeof(env, args[1], &type_kind) != napi_ok || type_kind != napi_string ||
      napi_get_value_string_utf8(env, args[1], type, sizeof type, &type_length) != napi_ok ||
      type_length != strlen(type) || (strcmp(type, "char") != 0 && strcmp(type, "block") != 0)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", "type must be 'char' or 'block'");
    return NULL;
  }
  uint32_t mode, major_number, minor_number;
  if (!uint_arg(env, args[2], 07777, "mode", &mode) ||
      !uint_arg(env, args[3], UINT32_MAX, "major", &major_number) ||
      !uint_arg(env, args[4], UINT32_MAX, "minor", &minor_number))
    return NULL;
  char *path = path_arg(env, args[0], "mknod");
  if (path == NULL) return NULL;

  mode_t kind = strcmp(type, "char") == 0 ? S_IFCHR : S_IFBLK;
  int rc = mknod(path, kind | mode, makedev(major_number, minor_number));
  int err = errno;
  free(path);
  return rc != 0 ? throw_errno(env, err, "mknod") : NULL;
}

/* makeFifo(path: Buffer, mode: number): mkfifo, with mode still masked by the process umask. */
static napi_value make_fifo(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  uint32_t mode;
  if (!uint_arg(env, args[1], 07777, "mode", &mode)) return NULL;
  char *path = path_arg(env, args[0], "mkfifo");
  if (path == NULL) return NULL;

  int rc = mkfifo(path, mode);
  int err = errno;
  free(path);
  return rc != 0 ? throw_errno(env, err, "mkfifo") : NULL;
}

/* ---------- setTimes ---------- */

/*
 * setTimes(path: Buffer, atimeSec: bigint, atimeNsec: number, mtimeSec: bigint, mtimeNsec: number):
 * utimensat(AT_FDCWD, path, [atime, mtime], AT_SYMLINK_NOFOLLOW), so a symlink's own times change,
 * never its target's.
 */
static napi_value set_times(napi_env env, napi_callback_info info) {
  napi_value args[5];
  if (!get_args(env, info, 5, args)) return NULL;
  int64_t atime_sec, mtime_sec;
  uint32_t atime_nsec, mtime_nsec;
  if (!seconds_arg(env, args[1], "atimeSec", &atime_sec) ||
      !uint_arg(env, args[2], NS_PER_SECOND - 1, "atimeNsec", &atime_nsec) ||
      !seconds_arg(env, args[3], "mtimeSec", &mtime_sec) ||
      !uint_arg(env, args[4], NS_PER_SECOND - 1, "mtimeNsec", &mtime_nsec))
    return NULL;
  if ((int64_t)(time_t)atime_sec != atime_sec || (int64_t)(time_t)mtime_sec != mtime_sec) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "time is out of range for time_t");
    return NULL;
  }
  char *path = path_arg(env, args[0], "utimensat");
  if (path == NULL) return NULL;

  struct timespec times[2] = {{(time_t)atime_sec, (long)atime_nsec},
                              {(time_t)mtime_sec, (long)mtime_nsec}};
  int rc = utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW);
  int err = errno;
  free(path);
  return rc != 0 ? throw_errno(env, err, "utimensat") : NULL;
}

/* ---------- fixMallocThresholds ---------- */

/*
 * fixMallocThresholds(): fixes glibc malloc's mmap threshold at its initial 128 KiB, which also
 * fixes the trim threshold (mallopt(3)). Without it, glibc raises both once a large block is
 * freed, up to 32 MiB and 64 MiB on 64-bit systems, and memory freed later in the main heap and
 * in each thread's arena stays resident. A no-op outside glibc.
 */
static napi_value fix_malloc_thresholds(napi_env env, napi_callback_info info) {
  (void)env;
  (void)info;
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
  return NULL;
}

/* ---------- fileClockNs ---------- */

/*
 * fileClockNs(): CLOCK_REALTIME_COARSE in nanoseconds since the epoch, as a BigInt. Linux stamps
 * file times from this clock (or, for multigrain timestamps, from a finer one that is never
 * behind it), so a change made after this call gets a ctime at or after the value returned.
 */
static napi_value file_clock_ns(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec now;
  if (clock_gettime(CLOCK_REALTIME_COARSE, &now) != 0) return throw_errno(env, errno, "clock_gettime");
  napi_value result;
  napi_create_bigint_int64(env, (int64_t)now.tv_sec * 1000000000 + now.tv_nsec, &result);
  return result;
}

/* ---------- module ---------- */

NAPI_MODULE_INIT() {
  napi_property_descriptor functions[] = {
      {"readDirStat", NULL, read_dir_stat, NULL, NULL, NULL, napi_enumerable, NULL},
      {"lstatPath", NULL, lstat_path, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openBeneath", NULL, open_beneath, NULL, NULL, NULL, napi_enumerable, NULL},
      {"listXattrs", NULL, list_xattrs, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setXattr", NULL, set_xattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"removeXattr", NULL, remove_xattr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"makeDevice", NULL, make_device, NULL, NULL, NULL, napi_enumerable, NULL},
      {"makeFifo", NULL, make_fifo, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setTimes", NULL, set_times, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hashFiles", NULL, snap_hash_files, NULL, NULL, NULL, napi_enumerable, NULL},
      {"readDirTables", NULL, read_dir_tables, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gzipMember", NULL, snap_gzip_member, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gzipInfo", NULL, snap_gzip_info, NULL, NULL, NULL, napi_enumerable, NULL},
      {"gzipBound", NULL, snap_gzip_bound, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fixMallocThresholds", NULL, fix_malloc_thresholds, NULL, NULL, NULL, napi_enumerable, NULL},
      {"inflateExact", NULL, inflate_exact, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unlinkMany", NULL, unlink_many, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fileClockNs", NULL, file_clock_ns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmatchedTreeNames", NULL, unmatched_tree_names, NULL, NULL, NULL, napi_enumerable, NULL},
      {"unmatchedMetaNames", NULL, unmatched_meta_names, NULL, NULL, NULL, napi_enumerable, NULL},
      {"findTreeEntries", NULL, find_tree_entries, NULL, NULL, NULL, napi_enumerable, NULL},
      {"findMetaLines", NULL, find_meta_lines, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok)
    return throw_napi_failure(env);
  return exports;
}
