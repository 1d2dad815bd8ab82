/* tokenizer/tok_postprocess.c: post-processors, which add special tokens when encoding with
 * add_special: TemplateProcessing (its "single" template, in the list or the string form),
 * BertProcessing and RobertaProcessing ([cls] A [sep]), ByteLevel (adds nothing) and Sequence
 * (each applied in turn). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

static void template_free(tok_template *t) {
  for (int i = 0; i < t->npieces; i++) free(t->pieces[i].ids);
  free(t->pieces);
  t->pieces = NULL;
  t->npieces = 0;
}

static lethe_status add_piece(tok_template *t, int is_seq, const int *ids, int nids) {
  tok_piece *p = realloc(t->pieces, (size_t)(t->npieces + 1) * sizeof *p);
  if (!p) return tok_nomem("post-processor");
  t->pieces = p;
  tok_piece *x = &t->pieces[t->npieces];
  x->is_seq = is_seq;
  x->nids = nids;
  x->ids = NULL;
  if (nids) {
    x->ids = malloc((size_t)nids * sizeof *x->ids);
    if (!x->ids) return tok_nomem("post-processor");
    memcpy(x->ids, ids, (size_t)nids * sizeof *ids);
  }
  t->npieces++;
  return LETHE_OK;
}

static lethe_status add_template(tok_post *p, tok_template *t) {
  tok_template *a = realloc(p->t, (size_t)(p->n + 1) * sizeof *a);
  if (!a) return tok_nomem("post-processor");
  p->t = a;
  p->t[p->n++] = *t;
  memset(t, 0, sizeof *t);
  return LETHE_OK;
}

/* The ids of a special token named in a template. */
static lethe_status special_ids(
    const json_t *specials, const char *id, size_t idlen, const char *name, const char *where, tok_template *t) {
  json_t *sp = NULL;
  const char *k;
  json_t *v;
  json_object_foreach((json_t *)specials, k, v) {
    if (strlen(k) == idlen && !memcmp(k, id, idlen)) sp = v;
  }
  if (!sp)
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: %s: special token \"%.*s\" is not in special_tokens", name, where, (int)idlen, id);
  json_t *ids = json_object_get(sp, "ids");
  if (!json_is_array(ids))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: post_processor.special_tokens[\"%.*s\"].ids: expected an array, found %s",
        name, (int)idlen, id, lethe_json_type_name(ids));
  size_t n = json_array_size(ids);
  int *buf = malloc((n + 1) * sizeof *buf);
  if (!buf) return tok_nomem("post-processor");
  for (size_t i = 0; i < n; i++) {
    json_t *x = json_array_get(ids, i);
    if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= TOK_MAX_ID) {
      free(buf);
      return lethe_fail(LETHE_ERR_FORMAT, "%s: post_processor.special_tokens[\"%.*s\"].ids[%zu]: expected an id", name,
          (int)idlen, id, i);
    }
    buf[i] = (int)json_integer_value(x);
  }
  lethe_status st = add_piece(t, 0, buf, (int)n);
  free(buf);
  return st;
}

static lethe_status parse_template(const json_t *j, const char *name, const char *where, tok_post *out) {
  json_t *single = json_object_get(j, "single");
  json_t *specials = json_object_get(j, "special_tokens");
  char w[256];
  if (!specials)
    specials = json_object();
  else
    json_incref(specials);
  if (!json_is_object(specials)) {
    json_decref(specials);
    return lethe_fail(LETHE_ERR_FORMAT, "%s: %s.special_tokens: expected an object, found %s", name, where,
        lethe_json_type_name(specials));
  }
  tok_template t = {0};
  lethe_status st = LETHE_OK;
  if (json_is_array(single)) {
    for (size_t i = 0; i < json_array_size(single) && st == LETHE_OK; i++) {
      json_t *pc = json_array_get(single, i);
      snprintf(w, sizeof w, "%s.single[%zu]", where, i);
      json_t *seq = json_object_get(pc, "Sequence"), *spt = json_object_get(pc, "SpecialToken");
      if (json_is_object(seq)) {
        const char *sid = NULL;
        st = lethe_json_str_at(seq, "id", 1, &(lethe_json_at){name, 0, w}, &sid, NULL);
        if (st == LETHE_OK && strcmp(sid, "A"))
          st = lethe_fail(LETHE_ERR_FORMAT, "%s: %s: the single template can only hold sequence A", name, w);
        if (st == LETHE_OK) st = add_piece(&t, 1, NULL, 0);
      } else if (json_is_object(spt)) {
        const char *sid = NULL;
        size_t sl = 0;
        st = lethe_json_str_at(spt, "id", 1, &(lethe_json_at){name, 0, w}, &sid, &sl);
        if (st == LETHE_OK) st = special_ids(specials, sid, sl, name, w, &t);
      } else {
        st = lethe_fail(LETHE_ERR_FORMAT, "%s: %s: expected {\"Sequence\": ...} or {\"SpecialToken\": ...}", name, w);
      }
    }
  } else if (json_is_string(single)) {
    /* "[CLS]:0 $A:0 [SEP]:0" */
    const char *s = json_string_value(single);
    size_t n = json_string_length(single), i = 0;
    snprintf(w, sizeof w, "%s.single", where);
    while (i < n && st == LETHE_OK) {
      while (i < n && s[i] == ' ') i++;
      size_t b = i;
      while (i < n && s[i] != ' ') i++;
      if (b == i) break;
      size_t e = i;
      for (size_t c = b; c < i; c++)
        if (s[c] == ':') e = c;
      if (s[b] == '$') {
        size_t l = e - b;
        if (!(l == 1 || (l == 2 && (s[b + 1] == 'A' || s[b + 1] == '0'))))
          st = lethe_fail(LETHE_ERR_FORMAT, "%s: %s: the single template can only hold $A", name, w);
        else
          st = add_piece(&t, 1, NULL, 0);
      } else {
        st = special_ids(specials, s + b, e - b, name, w, &t);
      }
    }
  } else {
    st = lethe_fail(LETHE_ERR_FORMAT, "%s: %s.single: expected a list or a string, found %s", name, where,
        lethe_json_type_name(single));
  }
  json_decref(specials);
  if (st == LETHE_OK) st = add_template(out, &t);
  template_free(&t);
  return st;
}

static lethe_status parse_pair_processing(const json_t *j, const char *name, const char *where, tok_post *out) {
  tok_template t = {0};
  lethe_status st = LETHE_OK;
  const char *keys[2] = {"cls", "sep"};
  int ids[2];
  for (int k = 0; k < 2; k++) {
    json_t *v = json_object_get(j, keys[k]);
    json_t *id = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_string(json_array_get(v, 0)) || !json_is_integer(id) ||
        json_integer_value(id) < 0 || json_integer_value(id) >= TOK_MAX_ID)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: %s.%s: expected [\"token\", id]", name, where, keys[k]);
    ids[k] = (int)json_integer_value(id);
  }
  if ((st = add_piece(&t, 0, &ids[0], 1)) == LETHE_OK && (st = add_piece(&t, 1, NULL, 0)) == LETHE_OK &&
      (st = add_piece(&t, 0, &ids[1], 1)) == LETHE_OK)
    st = add_template(out, &t);
  template_free(&t);
  return st;
}

static lethe_status parse_one(const json_t *j, const char *name, const char *where, tok_post *out, int depth) {
  const char *type;
  char w[200];
  if (depth > 16) return lethe_fail(LETHE_ERR_FORMAT, "%s: %s: nested too deeply", name, where);
  LETHE_TRY(tok_json_type(j, name, where, &type));
  if (!strcmp(type, "Sequence")) {
    json_t *arr = json_object_get(j, "processors");
    if (!json_is_array(arr))
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: %s.processors: expected an array, found %s", name, where, lethe_json_type_name(arr));
    for (size_t i = 0; i < json_array_size(arr); i++) {
      snprintf(w, sizeof w, "%s.processors[%zu]", where, i);
      LETHE_TRY(parse_one(json_array_get(arr, i), name, w, out, depth + 1));
    }
    return LETHE_OK;
  }
  if (!strcmp(type, "ByteLevel")) return LETHE_OK; /* offsets only */
  if (!strcmp(type, "TemplateProcessing")) return parse_template(j, name, where, out);
  if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing"))
    return parse_pair_processing(j, name, where, out);
  return lethe_fail(LETHE_ERR_UNSUPPORTED,
      "%s: %s: post-processor type \"%s\" is not supported (supported: "
      "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence)",
      name, where, type);
}

lethe_status tok_post_parse(const json_t *j, const char *name, tok_post *out) {
  memset(out, 0, sizeof *out);
  out->bos = out->eos = -1;
  if (!j || json_is_null(j)) return LETHE_OK;
  lethe_status st = parse_one(j, name, "post_processor", out, 0);
  if (st != LETHE_OK) {
    tok_post_free(out);
    return st;
  }
  if (out->n > 0) { /* what the first template puts around the sequence */
    const tok_template *t = &out->t[0];
    int seq = -1;
    for (int i = 0; i < t->npieces; i++)
      if (t->pieces[i].is_seq) seq = i;
    if (seq > 0 && t->pieces[0].nids == 1) out->bos = t->pieces[0].ids[0];
    if (seq >= 0 && seq + 1 < t->npieces && t->pieces[t->npieces - 1].nids == 1)
      out->eos = t->pieces[t->npieces - 1].ids[0];
  }
  return LETHE_OK;
}

void tok_post_free(tok_post *p) {
  for (int i = 0; i < p->n; i++) template_free(&p->t[i]);
  free(p->t);
  memset(p, 0, sizeof *p);
  p->bos = p->eos = -1;
}

lethe_status tok_post_apply(const tok_post *p, tok_ivec *ids) {
  for (int k = 0; k < p->n; k++) {
    const tok_template *t = &p->t[k];
    tok_ivec r = {0};
    lethe_status st = LETHE_OK;
    for (int i = 0; i < t->npieces && st == LETHE_OK; i++) {
      const tok_piece *pc = &t->pieces[i];
      const int *src = pc->is_seq ? ids->p : pc->ids;
      size_t n = pc->is_seq ? ids->n : (size_t)pc->nids;
      st = tok_ivec_reserve(&r, n);
      if (st == LETHE_OK && n) {
        memcpy(r.p + r.n, src, n * sizeof *src);
        r.n += n;
      }
    }
    if (st != LETHE_OK) {
      tok_ivec_free(&r);
      return st;
    }
    tok_ivec_free(ids);
    *ids = r;
  }
  return LETHE_OK;
}
