/* tokenizer/tok_hf.c: a Hugging Face tokenizer.json as one pipeline: parsing the document into
 * its parts, then encoding (added tokens in the raw text, normalizer, added tokens in the
 * normalized text, pre-tokenizers, BPE, post-processor) and decoding (ids to token strings, the
 * decoder chain), in the order and with the rules of the Rust tokenizers library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_internal.h"
#include "util/error.h"

lethe_status tok_ctx_init(tok_ctx *ctx, int npre) {
  memset(ctx, 0, sizeof *ctx);
  ctx->npre = npre;
  ctx->md = pcre2_match_data_create(1, NULL);
  ctx->stage_buf = calloc(2 * (size_t)npre + 1, sizeof *ctx->stage_buf);
  ctx->stage_pos = calloc(2 * (size_t)npre + 1, sizeof *ctx->stage_pos);
  if (!ctx->md || !ctx->stage_buf || !ctx->stage_pos) {
    tok_ctx_free(ctx);
    return tok_nomem("encode");
  }
  return LETHE_OK;
}

void tok_ctx_free(tok_ctx *ctx) {
  pcre2_match_data_free(ctx->md);
  for (int i = 0; i < 2 * ctx->npre && ctx->stage_buf; i++) lethe_sbuf_free(&ctx->stage_buf[i]);
  for (int i = 0; i < 2 * ctx->npre && ctx->stage_pos; i++) tok_zvec_free(&ctx->stage_pos[i]);
  free(ctx->stage_buf);
  free(ctx->stage_pos);
  lethe_sbuf_free(&ctx->norm[0]);
  lethe_sbuf_free(&ctx->norm[1]);
  tok_zvec_free(&ctx->seg);
  tok_zvec_free(&ctx->seg2);
  tok_zvec_free(&ctx->mpos);
  tok_bpe_scratch_free(ctx->bpe);
  memset(ctx, 0, sizeof *ctx);
}

/* The string of an id: the added token's content, else the model's token; NULL for a hole. */
static const char *id_string(const lethe_tokenizer *t, int id, size_t *len) {
  int k = tok_added_by_id(&t->added, id);
  if (k >= 0) {
    const tok_added_token *a = &t->added.tok[k];
    *len = a->dec ? a->dec_len : a->len;
    return a->dec ? a->dec : a->content;
  }
  if (id < t->bpe.nids && t->bpe.id_off[id] != UINT32_MAX) {
    *len = t->bpe.id_len[id];
    return t->bpe.vocab.keys.p + t->bpe.id_off[id];
  }
  return NULL;
}

static lethe_status parse_model(const json_t *root, const char *name, tok_bpe *bpe) {
  json_t *model = json_object_get(root, "model");
  if (!json_is_object(model))
    return lethe_fail(LETHE_ERR_FORMAT, "%s: model: expected an object, found %s", name, lethe_json_type_name(model));
  json_t *type = json_object_get(model, "type");
  if (type && !json_is_string(type))
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s: model.type: expected a string, found %s", name, lethe_json_type_name(type));
  if (type && strcmp(json_string_value(type), "BPE"))
    return lethe_fail(LETHE_ERR_UNSUPPORTED, "%s: model.type: model type \"%s\" is not supported (only BPE)", name,
        json_string_value(type));
  if (!type && !json_object_get(model, "merges"))
    return lethe_fail(
        LETHE_ERR_UNSUPPORTED, "%s: model: no \"type\" and no \"merges\": only BPE models are supported", name);
  return tok_bpe_parse(model, name, bpe);
}

lethe_status tok_hf_build(lethe_tokenizer *t, const char *json, size_t len) {
  const char *name = t->name;
  json_error_t err;
  json_t *root = json_loadb(json, len, JSON_ALLOW_NUL, &err);
  if (!root) return lethe_fail(LETHE_ERR_FORMAT, "%s: line %d, column %d: %s", name, err.line, err.column, err.text);
  lethe_status st = LETHE_OK;
  if (!json_is_object(root)) {
    st = lethe_fail(
        LETHE_ERR_FORMAT, "%s: the document is %s, not a tokenizer object", name, lethe_json_type_name(root));
    goto done;
  }
  json_t *ver = json_object_get(root, "version");
  if (ver && !(json_is_string(ver) && !strcmp(json_string_value(ver), "1.0"))) {
    st = lethe_fail(LETHE_ERR_UNSUPPORTED,
        "%s: version: unknown tokenizer.json version (want "
        "\"1.0\")",
        name);
    goto done;
  }
  if ((st = parse_model(root, name, &t->bpe)) != LETHE_OK) goto done;
  if ((st = tok_normalizer_parse(json_object_get(root, "normalizer"), name, &t->norm)) != LETHE_OK) goto done;
  if ((st = tok_pretokenizer_parse(json_object_get(root, "pre_tokenizer"), name, &t->pre)) != LETHE_OK) goto done;
  if ((st = tok_added_parse(json_object_get(root, "added_tokens"), name, &t->bpe, &t->norm, &t->added)) != LETHE_OK)
    goto done;
  if ((st = tok_post_parse(json_object_get(root, "post_processor"), name, &t->post)) != LETHE_OK) goto done;
  if ((st = tok_decoder_parse(json_object_get(root, "decoder"), name, &t->dec)) != LETHE_OK) goto done;
  t->vocab_size = t->bpe.nids > t->added.nby_id ? t->bpe.nids : t->added.nby_id;
  for (int k = 0; k < t->post.n; k++)
    for (int i = 0; i < t->post.t[k].npieces; i++)
      for (int q = 0; q < t->post.t[k].pieces[i].nids; q++)
        if (t->post.t[k].pieces[i].ids[q] >= t->vocab_size) {
          st = lethe_fail(LETHE_ERR_FORMAT,
              "%s: post_processor: special token id %d is outside the vocabulary "
              "(%d ids)",
              name, t->post.t[k].pieces[i].ids[q], t->vocab_size);
          goto done;
        }
  t->special = calloc((size_t)t->vocab_size + 1, 1);
  if (!t->special) {
    st = tok_nomem("tokenizer");
    goto done;
  }
  if (t->added.special_set.count)
    for (int id = 0; id < t->vocab_size; id++) {
      size_t l;
      const char *s = id_string(t, id, &l);
      if (s && tok_strmap_get(&t->added.special_set, s, l) >= 0) t->special[id] = 1;
    }
done:
  json_decref(root);
  return st;
}

lethe_status tok_hf_encode(const lethe_tokenizer *t, const char *text, size_t len, tok_ivec *out) {
  tok_ctx ctx;
  LETHE_TRY(tok_ctx_init(&ctx, t->pre.n));
  ctx.out = out;
  lethe_status st = tok_added_split(&t->added, 0, text, len, &ctx.seg);
  for (size_t i = 0; i + 2 < ctx.seg.n && st == LETHE_OK; i += 3) {
    size_t a = ctx.seg.p[i], b = ctx.seg.p[i + 1], id = ctx.seg.p[i + 2];
    if (id != SIZE_MAX) {
      st = tok_ivec_push(out, (int)id);
      continue;
    }
    if (a >= b) continue;
    const char *ns;
    size_t nn;
    st = tok_normalize(&t->norm, &ctx, text + a, b - a, &ns, &nn);
    if (st != LETHE_OK || nn == 0) continue;
    st = tok_added_split(&t->added, 1, ns, nn, &ctx.seg2);
    for (size_t j = 0; j + 2 < ctx.seg2.n && st == LETHE_OK; j += 3) {
      size_t a2 = ctx.seg2.p[j], b2 = ctx.seg2.p[j + 1], id2 = ctx.seg2.p[j + 2];
      if (id2 != SIZE_MAX)
        st = tok_ivec_push(out, (int)id2);
      else if (a2 < b2)
        st = tok_pretokenize(t, &ctx, 0, ns + a2, b2 - a2, a == 0 && a2 == 0);
    }
  }
  tok_ctx_free(&ctx);
  return st;
}

lethe_status tok_hf_decode(const lethe_tokenizer *t, const int *ids, int n, int skip_special, lethe_sbuf *out) {
  const char **toks = malloc(((size_t)n + 1) * sizeof *toks);
  size_t *lens = malloc(((size_t)n + 1) * sizeof *lens);
  lethe_status st = (toks && lens) ? LETHE_OK : tok_nomem("decode");
  size_t m = 0;
  for (int i = 0; i < n && st == LETHE_OK; i++) {
    int id = ids[i];
    if (id < 0 || id >= t->vocab_size) {
      st = lethe_fail(LETHE_ERR_INVALID, "%s: decode: id %d at position %d is outside the vocabulary [0, %d)", t->name,
          id, i, t->vocab_size);
      break;
    }
    if (skip_special && t->special[id]) continue;
    size_t l;
    const char *s = id_string(t, id, &l);
    if (!s) continue; /* an id no token has: dropped, as tokenizers does */
    toks[m] = s;
    lens[m++] = l;
  }
  if (st == LETHE_OK) st = tok_decode_tokens(&t->dec, toks, lens, m, out);
  free(toks);
  free(lens);
  return st;
}
