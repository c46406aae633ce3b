/*
 * Comparing two stored versions of one directory without listing them in JavaScript. A diff of
 * two snapshots reads both versions of every directory whose ids differ, and most children of
 * such a directory are unchanged. The rollback of the benchmark's real history, for one, finds
 * 765 changes in directories of about 5,400 children. These calls walk the raw Git trees and
 * metadata blobs side by side and return only the names whose entries or lines differ, and then
 * find the entries and lines of those names.
 *
 * Names cross the boundary as latin1 strings joined by NUL bytes, which no tree name and no
 * percent-encoded metadata field contains. Entries are matched byte for byte, so input in an
 * order other than the one assumed only reports more names, never fewer.
 */
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snap_native.h"

/* A byte range of an input buffer. */
typedef struct {
  const unsigned char *start;
  size_t length;
} Span;

/* One entry of a Git tree: "MODE NAME\0" and a 20-byte id. */
typedef struct {
  Span whole, name;
  bool is_tree;
} TreeEntry;

/* Parses the tree entry at *offset and moves past it. Returns false at the end or on damage (*damaged set). */
static bool next_tree_entry(Span tree, size_t *offset, TreeEntry *entry, bool *damaged) {
  if (*offset >= tree.length) return false;
  const unsigned char *start = tree.start + *offset;
  size_t left = tree.length - *offset;
  const unsigned char *space = memchr(start, ' ', left);
  const unsigned char *nul = space ? memchr(space + 1, 0, left - (size_t)(space + 1 - start)) : NULL;
  if (nul == NULL || (size_t)(nul + 21 - start) > left) {
    *damaged = true;
    return false;
  }
  entry->whole = (Span){start, (size_t)(nul + 21 - start)};
  entry->name = (Span){space + 1, (size_t)(nul - space - 1)};
  entry->is_tree = space - start == 5 && memcmp(start, "40000", 5) == 0;
  *offset += entry->whole.length;
  return true;
}

/* Returns the byte of an entry's name at `at` for Git's order: past the name, '/' for a subtree, else 0. */
static int next_order_byte(const TreeEntry *entry, size_t at) {
  if (entry->name.length > at) return entry->name.start[at];
  return entry->is_tree ? '/' : 0;
}

/* Compares two tree entries in Git's order: bytewise by name, a subtree's name followed by '/'. */
static int compare_tree_order(const TreeEntry *a, const TreeEntry *b) {
  size_t common = a->name.length < b->name.length ? a->name.length : b->name.length;
  int order = memcmp(a->name.start, b->name.start, common);
  if (order != 0) return order;
  return next_order_byte(a, common) - next_order_byte(b, common);
}

/* A growing byte string of names joined by NUL bytes. */
typedef struct {
  char *bytes;
  size_t length, capacity;
  size_t count;
  bool failed;
} NameList;

static void add_name(NameList *list, Span name) {
  size_t needed = list->length + name.length + 1;
  if (needed > list->capacity) {
    size_t capacity = list->capacity ? list->capacity * 2 : 256;
    while (capacity < needed) capacity *= 2;
    char *grown = realloc(list->bytes, capacity);
    if (grown == NULL) {
      list->failed = true;
      return;
    }
    list->bytes = grown;
    list->capacity = capacity;
  }
  if (list->count > 0) list->bytes[list->length++] = 0;
  memcpy(list->bytes + list->length, name.start, name.length);
  list->length += name.length;
  list->count++;
}

/* Returns the list as one latin1 string, or null for damaged input; frees the list. */
static napi_value finish_names(napi_env env, NameList *list, bool damaged) {
  napi_value result;
  napi_status status;
  if (list->failed) {
    free(list->bytes);
    napi_throw_error(env, "ENOMEM", "not enough memory to compare directory listings");
    return NULL;
  }
  if (damaged) status = napi_get_null(env, &result);
  else status = napi_create_string_latin1(env, list->length ? list->bytes : "", list->length, &result);
  free(list->bytes);
  if (status != napi_ok) return throw_napi_failure(env);
  return result;
}

/* Reads a Uint8Array argument into span. Throws a TypeError with `message` otherwise. */
static bool span_arg(napi_env env, napi_value value, const char *message, Span *span) {
  void *data = NULL;
  if (!bytes_arg(env, value, message, &data, &span->length)) return false;
  span->start = data;
  return true;
}

/*
 * unmatchedTreeNames(a: Uint8Array, b: Uint8Array): string | null. Walks two Git tree objects in
 * Git's order and returns the stored names of the entries that have no identical entry (mode,
 * name and id) on the other side, joined by NUL bytes. A name whose entry changed is listed once,
 * or twice when it changed from a subtree to another type or back, because Git's order then puts
 * the two entries apart. Returns null when either tree is damaged, for the caller to report.
 */
napi_value unmatched_tree_names(napi_env env, napi_callback_info info) {
  napi_value args[2];
  Span a, b;
  if (!get_args(env, info, 2, args) || !span_arg(env, args[0], "unmatchedTreeNames: a must be a Uint8Array", &a) ||
      !span_arg(env, args[1], "unmatchedTreeNames: b must be a Uint8Array", &b)) {
    return NULL;
  }
  NameList names = {0};
  bool damaged = false;
  size_t offset_a = 0, offset_b = 0;
  TreeEntry entry_a, entry_b;
  bool has_a = next_tree_entry(a, &offset_a, &entry_a, &damaged);
  bool has_b = next_tree_entry(b, &offset_b, &entry_b, &damaged);
  while (has_a && has_b) {
    if (entry_a.whole.length == entry_b.whole.length && memcmp(entry_a.whole.start, entry_b.whole.start, entry_a.whole.length) == 0) {
      has_a = next_tree_entry(a, &offset_a, &entry_a, &damaged);
      has_b = next_tree_entry(b, &offset_b, &entry_b, &damaged);
      continue;
    }
    int order = compare_tree_order(&entry_a, &entry_b);
    add_name(&names, order <= 0 ? entry_a.name : entry_b.name);
    if (order <= 0) has_a = next_tree_entry(a, &offset_a, &entry_a, &damaged);
    if (order >= 0) has_b = next_tree_entry(b, &offset_b, &entry_b, &damaged);
  }
  for (; has_a; has_a = next_tree_entry(a, &offset_a, &entry_a, &damaged)) add_name(&names, entry_a.name);
  for (; has_b; has_b = next_tree_entry(b, &offset_b, &entry_b, &damaged)) add_name(&names, entry_b.name);
  return finish_names(env, &names, damaged);
}

/* Returns the line of a metadata blob at *offset (without its newline) and moves past it. */
static bool next_line(Span blob, size_t *offset, Span *line) {
  while (*offset < blob.length) {
    const unsigned char *start = blob.start + *offset;
    const unsigned char *end = memchr(start, '\n', blob.length - *offset);
    size_t length = end ? (size_t)(end - start) : blob.length - *offset;
    *offset += length + (end ? 1 : 0);
    if (length == 0) continue;
    *line = (Span){start, length};
    return true;
  }
  return false;
}

/* Returns the name field of a record line: everything before its first space. */
static Span line_name(Span line) {
  const unsigned char *space = memchr(line.start, ' ', line.length);
  return (Span){line.start, space ? (size_t)(space - line.start) : line.length};
}

static int compare_spans(Span a, Span b) {
  size_t common = a.length < b.length ? a.length : b.length;
  int order = memcmp(a.start, b.start, common);
  if (order != 0) return order;
  return (a.length > b.length) - (a.length < b.length);
}

/*
 * unmatchedMetaNames(a: Uint8Array, b: Uint8Array): string. Walks two metadata blobs: the first
 * line of each is the format header, and the others are sorted by name. Returns the name fields
 * (percent-encoded, as written) of the lines that have no identical line on the other side,
 * joined by NUL bytes. A name whose line changed is listed once.
 */
napi_value unmatched_meta_names(napi_env env, napi_callback_info info) {
  napi_value args[2];
  Span a, b;
  if (!get_args(env, info, 2, args) || !span_arg(env, args[0], "unmatchedMetaNames: a must be a Uint8Array", &a) ||
      !span_arg(env, args[1], "unmatchedMetaNames: b must be a Uint8Array", &b)) {
    return NULL;
  }
  NameList names = {0};
  Span header;
  size_t offset_a = 0, offset_b = 0;
  next_line(a, &offset_a, &header);
  next_line(b, &offset_b, &header);
  Span line_a, line_b;
  bool has_a = next_line(a, &offset_a, &line_a);
  bool has_b = next_line(b, &offset_b, &line_b);
  while (has_a && has_b) {
    if (compare_spans(line_a, line_b) == 0) {
      has_a = next_line(a, &offset_a, &line_a);
      has_b = next_line(b, &offset_b, &line_b);
      continue;
    }
    int order = compare_spans(line_name(line_a), line_name(line_b));
    add_name(&names, order <= 0 ? line_name(line_a) : line_name(line_b));
    if (order <= 0) has_a = next_line(a, &offset_a, &line_a);
    if (order >= 0) has_b = next_line(b, &offset_b, &line_b);
  }
  for (; has_a; has_a = next_line(a, &offset_a, &line_a)) add_name(&names, line_name(line_a));
  for (; has_b; has_b = next_line(b, &offset_b, &line_b)) add_name(&names, line_name(line_b));
  return finish_names(env, &names, false);
}

/* The names looked up by findTreeEntries and findMetaLines, in an open-addressing hash table. */
typedef struct {
  Span *names;
  int32_t *slots; /* index into names, or -1 */
  size_t count, mask;
} NameSet;

static uint32_t hash_span(Span span) {
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < span.length; i++) hash = (hash ^ span.start[i]) * 16777619u;
  return hash;
}

/* Splits NUL-joined names into a set. Returns false when out of memory. */
static bool name_set_init(NameSet *set, Span joined) {
  set->count = 0;
  if (joined.length > 0) {
    set->count = 1;
    for (size_t i = 0; i < joined.length; i++) set->count += joined.start[i] == 0;
  }
  size_t size = 16;
  while (size < set->count * 2) size *= 2;
  set->mask = size - 1;
  set->names = malloc((set->count ? set->count : 1) * sizeof *set->names);
  set->slots = malloc(size * sizeof *set->slots);
  if (set->names == NULL || set->slots == NULL) return false;
  memset(set->slots, 0xff, size * sizeof *set->slots);
  const unsigned char *start = joined.start;
  for (size_t i = 0; i < set->count; i++) {
    const unsigned char *end = memchr(start, 0, joined.length - (size_t)(start - joined.start));
    Span name = {start, end ? (size_t)(end - start) : joined.length - (size_t)(start - joined.start)};
    set->names[i] = name;
    size_t slot = hash_span(name) & set->mask;
    while (set->slots[slot] >= 0) slot = (slot + 1) & set->mask;
    set->slots[slot] = (int32_t)i;
    start += name.length + 1;
  }
  return true;
}

/* Returns the index of `name` in the set, or -1. Of equal names, the first is found. */
static int32_t name_set_find(const NameSet *set, Span name) {
  for (size_t slot = hash_span(name) & set->mask; set->slots[slot] >= 0; slot = (slot + 1) & set->mask) {
    Span candidate = set->names[set->slots[slot]];
    if (candidate.length == name.length && memcmp(candidate.start, name.start, name.length) == 0) return set->slots[slot];
  }
  return -1;
}

static void name_set_free(NameSet *set) {
  free(set->names);
  free(set->slots);
}

/* Creates an Int32Array of `count` offsets, each -1, and returns its data in *offsets. */
static napi_value new_offsets(napi_env env, size_t count, int32_t **offsets) {
  napi_value buffer, array;
  void *data = NULL;
  if (napi_create_arraybuffer(env, (count ? count : 1) * sizeof(int32_t), &data, &buffer) != napi_ok ||
      napi_create_typedarray(env, napi_int32_array, count, buffer, 0, &array) != napi_ok) {
    return throw_napi_failure(env);
  }
  *offsets = data;
  for (size_t i = 0; i < count; i++) (*offsets)[i] = -1;
  return array;
}

/*
 * Moves past the next named item of a container (a tree entry or a metadata line) at *offset.
 * Sets the item's name and start, and returns false at the end or, with *damaged set, on damage.
 */
typedef bool (*NextItem)(Span container, size_t *offset, Span *name, const unsigned char **start, bool *damaged);

static bool next_tree_item(Span tree, size_t *offset, Span *name, const unsigned char **start, bool *damaged) {
  TreeEntry entry;
  if (!next_tree_entry(tree, offset, &entry, damaged)) return false;
  *name = entry.name;
  *start = entry.whole.start;
  return true;
}

/* The first line of a metadata blob, the format header, is no item. */
static bool next_meta_item(Span blob, size_t *offset, Span *name, const unsigned char **start, bool *damaged) {
  (void)damaged;
  Span line;
  if (*offset == 0 && !next_line(blob, offset, &line)) return false;
  if (!next_line(blob, offset, &line)) return false;
  *name = line_name(line);
  *start = line.start;
  return true;
}

/*
 * Implements the find calls: takes (container, NUL-joined names) and returns, for each name, the
 * offset in the container where the item of that name starts, or -1. Returns null when the
 * container is damaged.
 */
static napi_value find_offsets(napi_env env, napi_callback_info info, const char *message, NextItem next) {
  napi_value args[2];
  Span container, joined;
  if (!get_args(env, info, 2, args) || !span_arg(env, args[0], message, &container) || !span_arg(env, args[1], message, &joined)) return NULL;
  if (container.length > INT32_MAX) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "listing over 2 GiB");
    return NULL;
  }
  NameSet set;
  if (!name_set_init(&set, joined)) {
    name_set_free(&set);
    napi_throw_error(env, "ENOMEM", "not enough memory to compare directory listings");
    return NULL;
  }
  int32_t *offsets = NULL;
  napi_value result = new_offsets(env, set.count, &offsets);
  bool damaged = false;
  size_t offset = 0;
  Span name;
  const unsigned char *start;
  while (result != NULL && next(container, &offset, &name, &start, &damaged)) {
    int32_t found = name_set_find(&set, name);
    if (found >= 0) offsets[found] = (int32_t)(start - container.start);
  }
  name_set_free(&set);
  if (result != NULL && damaged && napi_get_null(env, &result) != napi_ok) return throw_napi_failure(env);
  return result;
}

/*
 * findTreeEntries(tree: Uint8Array, names: Uint8Array): Int32Array | null. For each of the
 * NUL-joined stored names, returns the offset in the tree object where its entry starts, or -1
 * when the tree has no entry of that name. Returns null when the tree is damaged.
 */
napi_value find_tree_entries(napi_env env, napi_callback_info info) {
  return find_offsets(env, info, "findTreeEntries: tree and names must be Uint8Arrays", next_tree_item);
}

/*
 * findMetaLines(blob: Uint8Array, fields: Uint8Array): Int32Array. For each of the NUL-joined
 * name fields (percent-encoded), returns the offset in the metadata blob where its line starts,
 * or -1 when no line has that name. The first line, the format header, is never a match.
 */
napi_value find_meta_lines(napi_env env, napi_callback_info info) {
  return find_offsets(env, info, "findMetaLines: blob and fields must be Uint8Arrays", next_meta_item);
}
