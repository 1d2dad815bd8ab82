/* data/data_dir.c: finding the task's files in a directory (`--data-dir`): the Hugging Face
 * layout ({forget,retain}_{train,validation}-NNNNN-of-NNNNN.parquet), the task release's
 * ({forget,retain}.jsonl, mia/{member,nonmember}.jsonl) and lethe's own (forget_train.jsonl ...). */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data.h"
#include "lethe/util.h"
#include "util/error.h"

static int is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The first pattern (relative to dir) that names exactly one file; several matches (shards) are
 * an error. *out is NULL when none matches. */
static lethe_status find(const char *dir, const char *what, const char *const *pats, int n, char **out) {
  *out = NULL;
  for (int i = 0; i < n; i++) {
    char *pat = lethe_path_join(dir, pats[i]);
    if (!pat) return lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    glob_t g;
    int rc = glob(pat, 0, NULL, &g);
    free(pat);
    if (rc == GLOB_NOMATCH) continue;
    if (rc != 0) return lethe_fail(LETHE_ERR_IO, "%s: cannot list the directory", dir);
    lethe_status s = LETHE_OK;
    size_t files = 0, pick = 0;
    for (size_t k = 0; k < g.gl_pathc; k++)
      if (is_file(g.gl_pathv[k])) {
        files++;
        pick = k;
      }
    if (files > 1)
      s = lethe_fail(LETHE_ERR_UNSUPPORTED,
          "%s: %zu files for the %s set (%s, ...): several shards are not supported; "
          "give one file with its flag",
          dir, files, what, g.gl_pathv[pick]);
    else if (files == 1 && !(*out = strdup(g.gl_pathv[pick])))
      s = lethe_fail(LETHE_ERR_NOMEM, "out of memory");
    globfree(&g);
    if (s || *out) return s;
  }
  return LETHE_OK;
}

lethe_status lethe_data_dir_find(const char *dir, const char *split, lethe_data_files *f) {
  memset(f, 0, sizeof *f);
  if (strcmp(split, "train") != 0 && strcmp(split, "validation") != 0)
    return lethe_fail(LETHE_ERR_INVALID, "data split \"%s\": expected train or validation", split);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) return lethe_fail(LETHE_ERR_IO, "%s: not a directory", dir);
  const char *names[2] = {"forget", "retain"};
  char **rows[2] = {&f->forget, &f->retain};
  lethe_status s = LETHE_OK;
  for (int k = 0; k < 2 && !s; k++) {
    char p[5][96];
    snprintf(p[0], sizeof p[0], "%s_%s-*.parquet", names[k], split);
    snprintf(p[1], sizeof p[1], "%s_%s.parquet", names[k], split);
    snprintf(p[2], sizeof p[2], "%s_%s.jsonl", names[k], split);
    snprintf(p[3], sizeof p[3], "%s.parquet", names[k]);
    snprintf(p[4], sizeof p[4], "%s.jsonl", names[k]);
    const char *pats[5] = {p[0], p[1], p[2], p[3], p[4]};
    s = find(dir, names[k], pats, strcmp(split, "train") == 0 ? 5 : 3, rows[k]);
  }
  const char *mnames[2] = {"member", "nonmember"};
  char **mia[2] = {&f->mia_members, &f->mia_nonmembers};
  int val = strcmp(split, "validation") == 0;
  for (int k = 0; k < 2 && !s; k++) {
    char p[6][96];
    snprintf(p[0], sizeof p[0], "mia%s/%s.parquet", val ? "/validation" : "", mnames[k]);
    snprintf(p[1], sizeof p[1], "mia%s/%s.jsonl", val ? "/validation" : "", mnames[k]);
    snprintf(p[2], sizeof p[2], "mia_%s%s-*.parquet", mnames[k], val ? "_validation" : "");
    snprintf(p[3], sizeof p[3], "mia_%s%s.jsonl", mnames[k], val ? "_validation" : "");
    snprintf(p[4], sizeof p[4], "%s%s.parquet", mnames[k], val ? "_validation" : "");
    snprintf(p[5], sizeof p[5], "%s%s.jsonl", mnames[k], val ? "_validation" : "");
    const char *pats[6] = {p[0], p[1], p[2], p[3], p[4], p[5]};
    s = find(dir, mnames[k], pats, 6, mia[k]);
  }
  if (!s && !f->forget && !f->retain)
    s = lethe_fail(LETHE_ERR_IO,
        "%s: no forget or retain rows (looked for {forget,retain}_%s-*.parquet, "
        "{forget,retain}_%s.{parquet,jsonl}%s)",
        dir, split, split, val ? "" : ", {forget,retain}.{parquet,jsonl}");
  if (!s && (!f->mia_members) != (!f->mia_nonmembers))
    s = lethe_fail(LETHE_ERR_IO, "%s: found MIA %s documents (%s) but no %s documents", dir,
        f->mia_members ? "member" : "non-member", f->mia_members ? f->mia_members : f->mia_nonmembers,
        f->mia_members ? "non-member" : "member");
  if (s) lethe_data_files_free(f);
  return s;
}

void lethe_data_files_free(lethe_data_files *f) {
  free(f->forget);
  free(f->retain);
  free(f->mia_members);
  free(f->mia_nonmembers);
  memset(f, 0, sizeof *f);
}
