/* eval/score_inputs.c: the non-row inputs of --score-only: per-document MIA NLLs (JSONL) and the
 * MMLU average from run_mmlu.py's metrics.json. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lethe/eval_mia.h"
#include "lethe/eval_score.h"
#include "util/array.h"
#include "util/json.h"
#include "util/jsonl.h"
#include "util/error.h"

typedef struct {
  double *v;
  size_t n, cap;
} nll_vec;

static lethe_status read_nll(const json_t *obj, const char *path, size_t line, void *ctx) {
  nll_vec *vec = ctx;
  const json_t *id = json_object_get(obj, "id");
  if (id && !json_is_string(id) && !json_is_integer(id))
    return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: field \"id\" must be a string or an integer", path, line);
  double nll = NAN;
  LETHE_TRY(lethe_json_num_at(obj, "nll", 1, &(lethe_json_at){path, line, NULL}, &nll, NULL));
  LETHE_TRY(LETHE_ARRAY_RESERVE1(vec->v, vec->n, vec->cap, path));
  vec->v[vec->n++] = nll;
  return LETHE_OK;
}

lethe_status lethe_eval_read_nll_jsonl(const char *path, double **nll, size_t *n) {
  *nll = NULL;
  *n = 0;
  nll_vec vec = {0};
  lethe_status st = lethe_jsonl_each(path, read_nll, &vec, NULL);
  if (st == LETHE_OK && vec.n == 0)
    st = lethe_fail(LETHE_ERR_FORMAT,
        "%s: no NLL records (an MIA file needs one line per "
        "document: {\"id\": ..., \"nll\": number})",
        path);
  if (st != LETHE_OK) {
    free(vec.v);
    return st;
  }
  *nll = vec.v;
  *n = vec.n;
  return LETHE_OK;
}

typedef struct {
  nll_vec v[2];
} mia_vecs;

static lethe_status read_mia(const json_t *obj, const char *path, size_t line, void *ctx) {
  mia_vecs *m = ctx;
  const char *set = NULL;
  LETHE_TRY(lethe_json_str_at(obj, "set", 1, &(lethe_json_at){path, line, NULL}, &set, NULL));
  int k = strcmp(set, "member") == 0 ? 0 : strcmp(set, "nonmember") == 0 ? 1 : -1;
  if (k < 0)
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s:%zu: field \"set\" must be \"member\" or \"nonmember\", not \"%.40s\"", path, line, set);
  return read_nll(obj, path, line, &m->v[k]);
}

lethe_status lethe_eval_read_mia_jsonl(
    const char *path, double **member, size_t *n_member, double **nonmember, size_t *n_nonmember) {
  *member = *nonmember = NULL;
  *n_member = *n_nonmember = 0;
  mia_vecs m;
  memset(&m, 0, sizeof m);
  lethe_status st = lethe_jsonl_each(path, read_mia, &m, NULL);
  if (st == LETHE_OK && (m.v[0].n == 0 || m.v[1].n == 0))
    st = lethe_fail(LETHE_ERR_FORMAT, "%s: no %s documents (the MIA needs both sets)", path,
        m.v[0].n == 0 ? "member" : "nonmember");
  if (st != LETHE_OK) {
    free(m.v[0].v);
    free(m.v[1].v);
    return st;
  }
  *member = m.v[0].v;
  *n_member = m.v[0].n;
  *nonmember = m.v[1].v;
  *n_nonmember = m.v[1].n;
  return LETHE_OK;
}

lethe_status lethe_eval_read_mmlu_metrics(const char *path, double *average_acc) {
  json_error_t err;
  json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
  if (!root) return lethe_fail(LETHE_ERR_FORMAT, "%s:%d: %s", path, err.line, err.text);
  lethe_status st = LETHE_OK;
  const json_t *v = json_is_object(root) ? json_object_get(root, "average_acc") : NULL;
  if (!json_is_object(root))
    st = lethe_fail(LETHE_ERR_FORMAT, "%s: expected a JSON object", path);
  else if (!v)
    st = lethe_fail(LETHE_ERR_FORMAT, "%s: missing field \"average_acc\"", path);
  else if (!json_is_number(v))
    st = lethe_fail(LETHE_ERR_FORMAT, "%s: field \"average_acc\" must be a number", path);
  else
    *average_acc = json_number_value(v);
  json_decref(root);
  return st;
}
