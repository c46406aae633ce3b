/*
 * readDirTables: readDirStat of many directories in one call, spread over a few threads.
 *
 * A status or commit on a large tree reads every directory once. One libuv request per directory
 * cost more than the reads it ran, so this call takes the whole list instead. Worker threads and
 * the calling thread read the directories, and then the calling thread alone converts the tables
 * to JS values, because Node-API may only be used there.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
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

typedef struct {
  char *path;
  bool ok;
  dev_t dev;
  ino_t ino;
  StatTable table;
} DirJob;

typedef struct {
  DirJob *jobs;
  size_t count;
  atomic_size_t next;
} JobList;

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
}

static void *run_jobs(void *arg) {
  JobList *list = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&list->next, 1);
    if (i >= list->count) return NULL;
    read_job(&list->jobs[i]);
  }
}

/* Returns { names, numbers, bigints, dev, ino } for a job that was read, else null. NULL with an exception pending. */
static napi_value job_to_js(napi_env env, const DirJob *job) {
  napi_value result, dev, ino;
  if (!job->ok) {
    if (napi_get_null(env, &result) != napi_ok) return throw_napi_failure(env);
    return result;
  }
  result = table_to_js(env, &job->table);
  if (result == NULL) return NULL;
  if (napi_create_bigint_uint64(env, (uint64_t)job->dev, &dev) != napi_ok ||
      napi_create_bigint_uint64(env, (uint64_t)job->ino, &ino) != napi_ok ||
      napi_set_named_property(env, result, "dev", dev) != napi_ok ||
      napi_set_named_property(env, result, "ino", ino) != napi_ok)
    return throw_napi_failure(env);
  return result;
}

/* Copies the paths array into jobs. Returns false with an exception pending. */
static bool fill_jobs(napi_env env, napi_value paths, DirJob *jobs, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    napi_value path;
    if (napi_get_element(env, paths, i, &path) != napi_ok) {
      throw_napi_failure(env);
      return false;
    }
    jobs[i].path = path_arg(env, path, "open");
    if (jobs[i].path == NULL) return false;
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

/*
 * readDirTables(paths: Buffer[]): for each path, the stat table that readDirStat returns plus the
 * directory's own `dev` and `ino` (bigints). The result is null for a path that could not be read,
 * a symlink included. Entries are in readdir order.
 */
napi_value read_dir_tables(napi_env env, napi_callback_info info) {
  napi_value args[1];
  if (!get_args(env, info, 1, args)) return NULL;
  bool is_array = false;
  uint32_t count = 0;
  if (napi_is_array(env, args[0], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "paths must be an array of Buffers");
    return NULL;
  }
  if (napi_get_array_length(env, args[0], &count) != napi_ok) return throw_napi_failure(env);

  DirJob *jobs = calloc(count > 0 ? count : 1, sizeof *jobs);
  if (jobs == NULL) return throw_errno(env, ENOMEM, "malloc");
  napi_value result = NULL;
  if (fill_jobs(env, args[0], jobs, count)) {
    run_all(jobs, count);
    if (napi_create_array_with_length(env, count, &result) != napi_ok) result = throw_napi_failure(env);
  }
  /* Each table is freed right after its conversion, so at most one table exists in both forms. */
  for (uint32_t i = 0; i < count; i++) {
    if (result != NULL) {
      napi_value element = job_to_js(env, &jobs[i]);
      if (element == NULL || napi_set_element(env, result, i, element) != napi_ok) {
        if (element != NULL) throw_napi_failure(env);
        result = NULL;
      }
    }
    table_free(&jobs[i].table);
    free(jobs[i].path);
  }
  free(jobs);
  return result;
}
