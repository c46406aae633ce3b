/*
 * readDirTables: readDirStat of many directories in one call, spread over a few threads.
 *
 * A status or commit on a large tree reads every directory once. One libuv request per directory
 * cost more than the reads it ran, so this call takes the whole list instead. The reads run on a
 * libuv pool thread and up to MAX_THREADS - 1 threads of its own, so the JS thread is free while
 * they run. The JS thread alone converts the tables to JS values afterwards, because Node-API may
 * only be used there.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snap_native.h"

/*
 * Maximum number of threads, the calling one included. The reads are system calls, which spread
 * over cores. The cap keeps one call from taking over a large machine.
 */
#define MAX_THREADS 4

/*
 * A view of a stat table owned by JS. The memory stays put until the promise settles: the batch
 * holds a reference to the array of tables, and every view is of an ArrayBuffer's backing store,
 * which V8 never moves (see typed_array_property).
 */
typedef struct {
  const void *names, *numbers, *bigints;
  size_t names_length, numbers_length, bigints_length;
} TableView;

typedef struct {
  char *path;
  bool ok;
  dev_t dev;
  ino_t ino;
  StatTable table;
  /* The table the caller expects; `same` is set when the table read equals it byte for byte. */
  bool has_expected, same;
  TableView expected;
  /*
   * When the table read differs from the expected one: for each entry read, the index of the
   * expected entry with the same name and stat, or -1. NULL when it could not be allocated.
   */
  int32_t *match;
} DirJob;

typedef struct {
  DirJob *jobs;
  size_t count;
  atomic_size_t next;
} JobList;

/* One readDirTables call, from its arguments to its settled promise. */
typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  /* A reference to the `expected` argument, whose tables the jobs view, or NULL without one. */
  napi_ref expected;
  DirJob *jobs;
  uint32_t count;
} ReadBatch;

static void free_batch(ReadBatch *batch) {
  if (batch->jobs != NULL) {
    for (uint32_t i = 0; i < batch->count; i++) {
      table_free(&batch->jobs[i].table);
      free(batch->jobs[i].match);
      free(batch->jobs[i].path);
    }
  }
  free(batch->jobs);
  free(batch);
}

static bool same_bytes(const void *a, size_t a_length, const void *b, size_t b_length) {
  return a_length == b_length && (a_length == 0 || memcmp(a, b, a_length) == 0);
}

static bool same_table(const StatTable *table, const TableView *view) {
  return same_bytes(table->names, table->names_length, view->names, view->names_length) &&
         same_bytes(table->numbers, table->count * NUMBER_FIELDS * sizeof(double), view->numbers, view->numbers_length) &&
         same_bytes(table->bigints, table->count * BIGINT_FIELDS * sizeof(uint64_t), view->bigints, view->bigints_length);
}

static uint32_t name_hash(const char *name, size_t length) {
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < length; i++) hash = (hash ^ (unsigned char)name[i]) * 16777619u;
  return hash;
}

/* Returns the bytes and length of entry i's name in a table's names and numbers. */
static const char *entry_name(const char *names, const double *numbers, size_t i, size_t *length) {
  size_t start = i == 0 ? 0 : (size_t)numbers[(i - 1) * NUMBER_FIELDS + F_NAME_END];
  *length = (size_t)numbers[i * NUMBER_FIELDS + F_NAME_END] - start;
  return names + start;
}

/* Reports whether two entries have the same stat: every field but the name's end offset. */
static bool same_stat(const double *a, const uint64_t *a_big, const double *b, const uint64_t *b_big) {
  for (int f = 0; f < NUMBER_FIELDS; f++) {
    if (f != F_NAME_END && memcmp(&a[f], &b[f], sizeof(double)) != 0) return false;
  }
  return memcmp(a_big, b_big, BIGINT_FIELDS * sizeof(uint64_t)) == 0;
}

/*
 * Fills job->match: each entry read is looked up by name among the expected entries, through an
 * open-addressing hash table of the expected names. Leaves match NULL when memory runs out, and
 * the caller then compares the entries itself.
 */
static void match_entries(DirJob *job) {
  const TableView *view = &job->expected;
  const double *old_numbers = view->numbers;
  const uint64_t *old_bigints = view->bigints;
  size_t old_count = view->numbers_length / (NUMBER_FIELDS * sizeof(double));
  if (view->bigints_length != old_count * BIGINT_FIELDS * sizeof(uint64_t)) return;
  size_t slots = 16;
  while (slots < old_count * 2) slots *= 2;
  int32_t *match = malloc((job->table.count > 0 ? job->table.count : 1) * sizeof *match);
  /* Slot values are an expected entry's index plus one, and 0 for an empty slot. */
  uint32_t *index = calloc(slots, sizeof *index);
  if (match == NULL || index == NULL || old_count >= UINT32_MAX) {
    free(match);
    free(index);
    return;
  }

  for (size_t j = 0; j < old_count; j++) {
    size_t length;
    const char *name = entry_name(view->names, old_numbers, j, &length);
    size_t slot = name_hash(name, length) & (slots - 1);
    while (index[slot] != 0) slot = (slot + 1) & (slots - 1);
    index[slot] = (uint32_t)j + 1;
  }

  for (size_t i = 0; i < job->table.count; i++) {
    size_t length;
    const char *name = entry_name(job->table.names, job->table.numbers, i, &length);
    match[i] = -1;
    for (size_t slot = name_hash(name, length) & (slots - 1); index[slot] != 0; slot = (slot + 1) & (slots - 1)) {
      size_t j = index[slot] - 1, old_length;
      const char *old_name = entry_name(view->names, old_numbers, j, &old_length);
      if (old_length != length || memcmp(old_name, name, length) != 0) continue;
      if (same_stat(&job->table.numbers[i * NUMBER_FIELDS], &job->table.bigints[i * BIGINT_FIELDS],
                    &old_numbers[j * NUMBER_FIELDS], &old_bigints[j * BIGINT_FIELDS]))
        match[i] = (int32_t)j;
      break;
    }
  }
  free(index);
  job->match = match;
}

/*
 * Reads one directory as readDirStat does, except that a final symlink is not followed
 * (O_NOFOLLOW). The directory's own device and inode are kept so that the caller can check that
 * it read the directory it meant. A failure leaves job->ok false, and the caller reads that
 * directory again on its own to get the error.
 */
static void read_job(DirJob *job) {
  int fd = open(job->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return;
  }
  DIR *dir = fdopendir(fd);
  if (dir == NULL) {
    close(fd);
    return;
  }
  const char *syscall = NULL;
  job->ok = scan_directory(dir, &job->table, &syscall) == 0;
  closedir(dir);
  job->dev = st.st_dev;
  job->ino = st.st_ino;
  if (job->ok && job->has_expected) job->same = same_table(&job->table, &job->expected);
  if (job->ok && job->has_expected && !job->same) match_entries(job);
  /* An equal table is never converted, so its memory can go now rather than after every read. */
  if (job->same) {
    table_free(&job->table);
    memset(&job->table, 0, sizeof job->table);
  }
}

static void *run_jobs(void *arg) {
  JobList *list = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&list->next, 1);
    if (i >= list->count) return NULL;
    read_job(&list->jobs[i]);
  }
}

/*
 * Returns { names, numbers, bigints, dev, ino } for a job that was read, with only dev and ino
 * when the table equals the expected one, and null for a job that failed. Returns NULL with an
 * exception pending.
 */
static napi_value job_to_js(napi_env env, const DirJob *job) {
  napi_value result, dev, ino;
  if (!job->ok) {
    if (napi_get_null(env, &result) != napi_ok) return throw_napi_failure(env);
    return result;
  }
  if (job->same) {
    if (napi_create_object(env, &result) != napi_ok) return throw_napi_failure(env);
  } else {
    result = table_to_js(env, &job->table);
    if (result == NULL) return NULL;
  }
  if (job->match != NULL) {
    void *bytes = NULL;
    napi_value buffer, match;
    size_t length = job->table.count * sizeof *job->match;
    if (napi_create_arraybuffer(env, length, &bytes, &buffer) != napi_ok) return throw_napi_failure(env);
    if (length > 0) memcpy(bytes, job->match, length);
    if (napi_create_typedarray(env, napi_int32_array, job->table.count, buffer, 0, &match) != napi_ok ||
        napi_set_named_property(env, result, "match", match) != napi_ok)
      return throw_napi_failure(env);
  }
  if (napi_create_bigint_uint64(env, (uint64_t)job->dev, &dev) != napi_ok ||
      napi_create_bigint_uint64(env, (uint64_t)job->ino, &ino) != napi_ok ||
      napi_set_named_property(env, result, "dev", dev) != napi_ok ||
      napi_set_named_property(env, result, "ino", ino) != napi_ok)
    return throw_napi_failure(env);
  return result;
}

static size_t element_size(napi_typedarray_type type) {
  switch (type) {
    case napi_int16_array:
    case napi_uint16_array: return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array: return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array: return 8;
    default: return 1;
  }
}

/*
 * Reads the data pointer and byte length of the typed array or Buffer `name` of object.
 * napi_get_typedarray_info gets the array's ArrayBuffer from V8, which moves the contents of a
 * small typed array kept inside the V8 heap to a backing store of its own (Node 20,
 * js_native_api_v8.cc). A backing store does not move, so the pointer stays valid for as long as
 * the array is alive and not detached. Buffers and the stat cache's tables are views of
 * ArrayBuffers outside the heap already.
 */
static bool typed_array_property(napi_env env, napi_value object, const char *name, const void **data,
                                 size_t *length) {
  napi_value value;
  bool is_typedarray = false;
  napi_typedarray_type type;
  size_t element_count = 0;
  void *pointer = NULL;
  if (napi_get_named_property(env, object, name, &value) != napi_ok ||
      napi_is_typedarray(env, value, &is_typedarray) != napi_ok) {
    throw_napi_failure(env);
    return false;
  }
  if (!is_typedarray) {
    char message[100];
    snprintf(message, sizeof message, "expected.%s must be a typed array", name);
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return false;
  }
  if (napi_get_typedarray_info(env, value, &type, &element_count, &pointer, NULL, NULL) != napi_ok) {
    throw_napi_failure(env);
    return false;
  }
  *data = pointer;
  *length = element_count * element_size(type);
  return true;
}

/* Reads expected[i] (undefined or a stat table) into job. Returns false with an exception pending. */
static bool expected_arg(napi_env env, napi_value expected, uint32_t i, DirJob *job) {
  napi_value table;
  napi_valuetype type;
  if (napi_get_element(env, expected, i, &table) != napi_ok || napi_typeof(env, table, &type) != napi_ok) {
    throw_napi_failure(env);
    return false;
  }
  if (type == napi_undefined) return true;
  TableView *view = &job->expected;
  job->has_expected = typed_array_property(env, table, "names", &view->names, &view->names_length) &&
                      typed_array_property(env, table, "numbers", &view->numbers, &view->numbers_length) &&
                      typed_array_property(env, table, "bigints", &view->bigints, &view->bigints_length);
  return job->has_expected;
}

/*
 * Copies the paths array into jobs, with the expected tables when `expected` is an array.
 * Returns false with an exception pending.
 */
static bool fill_jobs(napi_env env, napi_value paths, napi_value expected, DirJob *jobs, uint32_t count) {
  bool has_expected = false;
  if (napi_is_array(env, expected, &has_expected) != napi_ok) {
    throw_napi_failure(env);
    return false;
  }
  for (uint32_t i = 0; i < count; i++) {
    napi_value path;
    if (napi_get_element(env, paths, i, &path) != napi_ok) {
      throw_napi_failure(env);
      return false;
    }
    jobs[i].path = path_arg(env, path, "open");
    if (jobs[i].path == NULL) return false;
    if (has_expected && !expected_arg(env, expected, i, &jobs[i])) return false;
  }
  return true;
}

/* Reads every job: on up to MAX_THREADS - 1 worker threads and this one. */
static void run_all(DirJob *jobs, size_t count) {
  JobList list = {jobs, count, 0};
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  size_t threads = cpus > 1 ? (size_t)cpus : 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  if (threads > count) threads = count > 0 ? count : 1;

  pthread_t workers[MAX_THREADS];
  size_t started = 0;
  /* A thread that cannot be started leaves its share to the others. */
  while (started + 1 < threads && pthread_create(&workers[started], NULL, run_jobs, &list) == 0) started++;
  run_jobs(&list);
  for (size_t i = 0; i < started; i++) pthread_join(workers[i], NULL);
}

/* Runs on a libuv pool thread. */
static void execute(napi_env env, void *data) {
  (void)env;
  ReadBatch *batch = data;
  run_all(batch->jobs, batch->count);
}

/*
 * Returns the array of job_to_js results, or NULL with an exception pending. Each table is freed
 * right after its conversion, so at most one table exists in both forms.
 */
static napi_value jobs_to_js(napi_env env, ReadBatch *batch) {
  napi_value result;
  if (napi_create_array_with_length(env, batch->count, &result) != napi_ok) return throw_napi_failure(env);
  for (uint32_t i = 0; i < batch->count; i++) {
    DirJob *job = &batch->jobs[i];
    napi_value element = job_to_js(env, job);
    if (element == NULL) return NULL;
    if (napi_set_element(env, result, i, element) != napi_ok) return throw_napi_failure(env);
    table_free(&job->table);
    memset(&job->table, 0, sizeof job->table);
  }
  return result;
}

/* Runs on the JS thread: resolves with the tables, or rejects with the error that stopped their conversion. */
static void complete(napi_env env, napi_status status, void *data) {
  ReadBatch *batch = data;
  settle_promise(env, batch->deferred, status == napi_ok ? jobs_to_js(env, batch) : NULL, "readDirTables");
  if (batch->expected != NULL) napi_delete_reference(env, batch->expected);
  napi_delete_async_work(env, batch->work);
  free_batch(batch);
}

/*
 * readDirTables(paths: Buffer[], expected?: (StatTable | undefined)[]): Promise. Resolves with,
 * for each path, the stat table that readDirStat returns plus the directory's own `dev` and `ino`
 * (bigints). When the table equals expected[i] byte for byte, the result has only `dev` and `ino`.
 * When it differs, the result also has `match` (Int32Array): for each entry, the index in
 * expected[i] of the entry with the same name and stat, or -1. The result is null for a path that
 * could not be read, a symlink included. Entries are in readdir order.
 *
 * Invalid arguments and a failed allocation throw before anything is read. The promise rejects
 * only when its result cannot be built. The native threads read the expected tables in place, so
 * the caller must not change, replace or detach `expected` or its arrays until the promise settles.
 */
napi_value read_dir_tables(napi_env env, napi_callback_info info) {
  napi_value args[2];
  if (!get_args(env, info, 2, args)) return NULL;
  bool is_array = false;
  uint32_t count = 0;
  if (napi_is_array(env, args[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "paths must be an array of Buffers");
    return NULL;
  }
  if (napi_get_array_length(env, args[0], &count) != napi_ok) return throw_napi_failure(env);

  ReadBatch *batch = calloc(1, sizeof *batch);
  if (batch == NULL) return throw_errno(env, ENOMEM, "malloc");
  batch->jobs = calloc(count > 0 ? count : 1, sizeof *batch->jobs);
  if (batch->jobs == NULL) {
    free_batch(batch);
    return throw_errno(env, ENOMEM, "malloc");
  }
  batch->count = count;
  if (!fill_jobs(env, args[0], args[1], batch->jobs, count)) {
    free_batch(batch);
    return NULL;
  }

  bool has_expected = false;
  napi_value promise;
  if (napi_is_array(env, args[1], &has_expected) != napi_ok ||
      (has_expected && napi_create_reference(env, args[1], 1, &batch->expected) != napi_ok)) {
    free_batch(batch);
    return throw_napi_failure(env);
  }
  if (!queue_work(env, "readDirTables", execute, complete, batch, &batch->work, &batch->deferred, &promise)) {
    if (batch->expected != NULL) napi_delete_reference(env, batch->expected);
    free_batch(batch);
    return NULL;
  }
  return promise;
}
