/* tokenizer/tok_import.c: the importers' builder (tok_import.h): a Hugging Face tokenizer.json
 * from a vocabulary given as plain arrays. Byte-level BPE: the vocabulary and merges as given,
 * added tokens for control and user-defined ids, the pre-tokenizer of the llama.cpp pre-tokenizer
 * family the file names. SentencePiece BPE: normalizer Prepend("▁") (when a space prefix is added)
 * + Replace(" ", "▁"), no pre-tokenizer, byte fallback, the Llama decoder chain, and merges derived
 * from the scores the way transformers' generate_merges does it for LlamaConverter: every split of
 * every piece into two pieces of the vocabulary is a merge, ordered by the piece's score (highest
 * first), then by the longer left part, the longer right part, and the order of the vocabulary. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/tok_import.h"
#include "tokenizer/tok_internal.h"
#include "util/array.h"
#include "util/error.h"

/* The vocabulary as a string -> id map (tok_strmap; the later id wins for a repeated string). */
static lethe_status vocab_init(tok_strmap *vm, const tok_import_spec *sp) {
  LETHE_TRY(tok_strmap_init(vm, (size_t)sp->n));
  for (int i = 0; i < sp->n; i++) LETHE_TRY(tok_strmap_put(vm, sp->tok[i], sp->len[i], i, NULL));
  return LETHE_OK;
}

/* ---- SentencePiece merges from scores ---------------------------------------------------------- */

typedef struct {
  int piece, l, r; /* ids */
  size_t ll, rl;   /* byte lengths of the parts */
  size_t order;    /* position before sorting (stability) */
  float score;
} merge_item;

static int cmp_local(const void *a, const void *b) {
  const merge_item *x = a, *y = b;
  if (x->l != y->l) return x->l < y->l ? -1 : 1;
  return (x->r > y->r) - (x->r < y->r);
}

/* Highest score first; then longer left part, longer right part; then earlier. Lengths are in
 * characters in Python; for the same merged piece, bytes order the splits the same way. For
 * different pieces of equal score the lengths compare characters of different strings, so they are
 * compared in characters (counted by the caller into ll/rl). */
static int cmp_global(const void *a, const void *b) {
  const merge_item *x = a, *y = b;
  if (x->score != y->score) return x->score > y->score ? -1 : 1;
  if (x->ll != y->ll) return x->ll > y->ll ? -1 : 1;
  if (x->rl != y->rl) return x->rl > y->rl ? -1 : 1;
  return (x->order > y->order) - (x->order < y->order);
}

/* Appends the pair [a, b] to out; fails (nothing leaked) when either is not valid UTF-8. */
static int append_pair(json_t *out, const char *a, size_t al, const char *b, size_t bl) {
  json_t *x = json_stringn(a, al), *y = json_stringn(b, bl);
  if (!x || !y) {
    json_decref(x);
    json_decref(y);
    return -1;
  }
  json_t *pair = json_pack("[o, o]", x, y);
  return pair ? json_array_append_new(out, pair) : -1;
}

static size_t utf8_chars(const char *s, size_t n) {
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += ((uint8_t)s[i] & 0xC0) != 0x80;
  return c;
}

static lethe_status spm_merges(const tok_import_spec *sp, const tok_strmap *vm, json_t *out) {
  size_t cap = 0, n = 0;
  merge_item *m = NULL;
  LETHE_TRY(LETHE_ARRAY_GROW(m, cap, 1024, sp->name));
  for (int p = 0; p < sp->n; p++) {
    if (tok_strmap_get(vm, sp->tok[p], sp->len[p]) != p) continue; /* a repeated string counts once */
    size_t first = n;
    const char *s = sp->tok[p];
    for (size_t i = 1; i < sp->len[p]; i++) {
      if (((uint8_t)s[i] & 0xC0) == 0x80) continue; /* split on character boundaries only */
      int l = tok_strmap_get(vm, s, i), r = tok_strmap_get(vm, s + i, sp->len[p] - i);
      if (l < 0 || r < 0) continue;
      lethe_status st = LETHE_ARRAY_RESERVE1(m, n, cap, sp->name);
      if (st != LETHE_OK) {
        free(m);
        return st;
      }
      m[n++] = (merge_item){.piece = p,
          .l = l,
          .r = r,
          .ll = utf8_chars(s, i),
          .rl = utf8_chars(s + i, sp->len[p] - i),
          .score = sp->scores[p]};
    }
    qsort(m + first, n - first, sizeof *m, cmp_local);
  }
  for (size_t i = 0; i < n; i++) m[i].order = i;
  qsort(m, n, sizeof *m, cmp_global);
  lethe_status s = LETHE_OK;
  for (size_t i = 0; i < n && !s; i++) {
    if (append_pair(out, sp->tok[m[i].l], sp->len[m[i].l], sp->tok[m[i].r], sp->len[m[i].r]))
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: merge of token %d is not valid UTF-8 text", sp->name, m[i].piece);
  }
  free(m);
  return s;
}

/* "a b" merges as given: split at the first space after the first byte (as llama.cpp does). */
static lethe_status given_merges(const tok_import_spec *sp, json_t *out) {
  for (int i = 0; i < sp->n_merges; i++) {
    const char *s = sp->merge[i];
    size_t n = sp->merge_len[i], k = 1;
    while (k < n && s[k] != ' ') k++;
    if (n < 3 || k >= n - 1)
      return lethe_fail(LETHE_ERR_FORMAT, "%s: merge %d (\"%.*s\") is not two tokens separated by a space", sp->name, i,
          (int)(n < 60 ? n : 60), s);
    if (append_pair(out, s, k, s + k + 1, n - k - 1))
      return lethe_fail(LETHE_ERR_FORMAT, "%s: merge %d is not valid UTF-8 text", sp->name, i);
  }
  return LETHE_OK;
}

/* ---- the pieces of the document ---------------------------------------------------------------- */

static json_t *str(const tok_import_spec *sp, int id) { return json_stringn(sp->tok[id], sp->len[id]); }

static json_t *bytelevel(int use_regex) {
  return json_pack(
      "{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1, "use_regex", use_regex);
}

static const char *const LLAMA3_RE = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
                                     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char *const QWEN2_RE = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                                    "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static int in_list(const char *s, const char *const *list) {
  for (; *list; list++)
    if (!strcmp(s, *list)) return 1;
  return 0;
}

/* llama.cpp's llama3 pre-tokenizer family: the Llama-3 split regex, merges ignored, BOS added. */
static const char *const LLAMA3[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", NULL};

int tok_import_pre_adds_bos(const char *pre) { return pre && in_list(pre, LLAMA3); }

/* The pre-tokenizer of a llama.cpp pre-tokenizer name (NULL when lethe does not know it). */
static json_t *pre_tokenizer(const char *pre, int *ignore_merges) {
  static const char *const GPT2[] = {"default", "gpt2", "gpt-2", "olmo", "mpt", "phi-2", NULL};
  static const char *const DIGITS[] = {
      "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", NULL};
  static const char *const LLAMA3_RE_ONLY[] = {"dbrx", "smaug-bpe", NULL};
  static const char *const QWEN2[] = {"qwen2", "deepseek-r1-qwen", NULL};
  *ignore_merges = 0;
  if (!pre || in_list(pre, GPT2)) return bytelevel(1);
  if (in_list(pre, DIGITS))
    return json_pack("{s:s, s:[{s:s, s:b}, o]}", "type", "Sequence", "pretokenizers", "type", "Digits",
        "individual_digits", 1, bytelevel(1));
  const char *re = NULL;
  if (in_list(pre, LLAMA3)) {
    re = LLAMA3_RE;
    *ignore_merges = 1;
  } else if (in_list(pre, LLAMA3_RE_ONLY)) {
    re = LLAMA3_RE;
  } else if (in_list(pre, QWEN2)) {
    re = QWEN2_RE;
  }
  if (!re) return NULL;
  return json_pack("{s:s, s:[{s:s, s:{s:s}, s:s, s:b}, o]}", "type", "Sequence", "pretokenizers", "type", "Split",
      "pattern", "Regex", re, "behavior", "Isolated", "invert", 0, bytelevel(0));
}

static json_t *template_piece(const tok_import_spec *sp, int id, int type_id) {
  return json_pack("{s:{s:o, s:i}}", "SpecialToken", "id", str(sp, id), "type_id", type_id);
}

/* [BOS] $which [EOS], all of type type_id. */
static void append_seq(json_t *arr, const tok_import_spec *sp, int bos, int eos, const char *which, int type_id) {
  if (bos) json_array_append_new(arr, template_piece(sp, sp->bos, type_id));
  json_array_append_new(arr, json_pack("{s:{s:s, s:i}}", "Sequence", "id", which, "type_id", type_id));
  if (eos) json_array_append_new(arr, template_piece(sp, sp->eos, type_id));
}

/* TemplateProcessing that adds BOS and/or EOS (as Llama's tokenizer.json does), or null. */
static json_t *post_processor(const tok_import_spec *sp) {
  int bos = sp->add_bos && sp->bos >= 0, eos = sp->add_eos && sp->eos >= 0;
  if (!bos && !eos) return json_null();
  json_t *single = json_array(), *pair = json_array(), *specials = json_object();
  if (!single || !pair || !specials) {
    json_decref(single);
    json_decref(pair);
    json_decref(specials);
    return NULL;
  }
  append_seq(single, sp, bos, eos, "A", 0);
  append_seq(pair, sp, bos, eos, "A", 0);
  append_seq(pair, sp, bos, eos, "B", 1);
  int ids[2] = {bos ? sp->bos : -1, eos ? sp->eos : -1};
  for (int k = 0; k < 2; k++) {
    if (ids[k] < 0) continue;
    json_object_setn_new(specials, sp->tok[ids[k]], sp->len[ids[k]],
        json_pack("{s:o, s:[i], s:[o]}", "id", str(sp, ids[k]), "ids", ids[k], "tokens", str(sp, ids[k])));
  }
  return json_pack(
      "{s:s, s:o, s:o, s:o}", "type", "TemplateProcessing", "single", single, "pair", pair, "special_tokens", specials);
}

static json_t *added_tokens(const tok_import_spec *sp) {
  json_t *a = json_array();
  for (int i = 0; i < sp->n && a; i++) {
    int t = sp->type ? sp->type[i] : TOKTYPE_NORMAL;
    int special = t == TOKTYPE_CONTROL || t == TOKTYPE_UNKNOWN;
    if (!special && t != TOKTYPE_USER && i != sp->bos && i != sp->eos && i != sp->unk) continue;
    if (!special && t != TOKTYPE_USER) special = 1; /* bos/eos/unk of a file without token types */
    json_t *e = json_pack("{s:i, s:o, s:b, s:b, s:b, s:b, s:b}", "id", i, "content", str(sp, i), "single_word", 0,
        "lstrip", 0, "rstrip", 0, "normalized", 0, "special", special);
    if (!e || json_array_append_new(a, e)) {
      json_decref(a);
      return NULL;
    }
  }
  return a;
}

lethe_status tok_import_json(const tok_import_spec *sp, char **json_out) {
  *json_out = NULL;
  if (sp->n < 1) return lethe_fail(LETHE_ERR_FORMAT, "%s: the vocabulary is empty", sp->name);
  int ids[4] = {sp->bos, sp->eos, sp->unk, sp->pad};
  for (int k = 0; k < 4; k++)
    if (ids[k] >= sp->n)
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s: special token id %d is outside the vocabulary (%d tokens)", sp->name, ids[k], sp->n);
  tok_strmap vm = {0};
  lethe_status s = vocab_init(&vm, sp);
  if (s) {
    tok_strmap_free(&vm);
    return s;
  }
  json_t *root = NULL, *vocab = json_object(), *merges = json_array(), *pre = NULL, *normalizer = NULL, *decoder = NULL;
  int ignore_merges = 0;
  if (!vocab || !merges) {
    s = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", sp->name);
    goto done;
  }
  for (int i = 0; i < sp->n; i++)
    if (json_object_setn_new(vocab, sp->tok[i], sp->len[i], json_integer(i))) {
      s = lethe_fail(LETHE_ERR_FORMAT, "%s: token %d is not valid UTF-8 text", sp->name, i);
      goto done;
    }
  if (sp->merge)
    s = given_merges(sp, merges);
  else if (sp->kind == TOK_IMPORT_SPM && sp->scores)
    s = spm_merges(sp, &vm, merges);
  if (s) goto done;
  if (sp->kind == TOK_IMPORT_BYTELEVEL) {
    pre = pre_tokenizer(sp->pre, &ignore_merges);
    if (!pre) {
      s = lethe_fail(LETHE_ERR_UNSUPPORTED,
          "%s: pre-tokenizer '%.64s' is not supported (lethe knows the gpt2, smollm/starcoder, "
          "llama3 and qwen2 families)",
          sp->name, sp->pre);
      goto done;
    }
    normalizer = json_null();
    decoder = json_pack(
        "{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 1, "trim_offsets", 1, "use_regex", 1);
  } else {
    pre = json_null();
    json_t *repl =
        json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace", "pattern", "String", " ", "content", "\xe2\x96\x81");
    if (sp->add_space_prefix)
      normalizer = json_pack("{s:s, s:[{s:s, s:s}, o]}", "type", "Sequence", "normalizers", "type", "Prepend",
          "prepend", "\xe2\x96\x81", repl);
    else
      normalizer = repl;
    json_t *chain = json_pack("[{s:s, s:{s:s}, s:s}, {s:s}, {s:s}]", "type", "Replace", "pattern", "String",
        "\xe2\x96\x81", "content", " ", "type", "ByteFallback", "type", "Fuse");
    if (chain && sp->add_space_prefix)
      json_array_append_new(
          chain, json_pack("{s:s, s:s, s:i, s:i}", "type", "Strip", "content", " ", "start", 1, "stop", 0));
    decoder = json_pack("{s:s, s:o}", "type", "Sequence", "decoders", chain);
  }
  json_t *model = json_pack("{s:s, s:n, s:o, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout", "unk_token",
      sp->kind == TOK_IMPORT_SPM && sp->unk >= 0 ? str(sp, sp->unk) : json_null(), "continuing_subword_prefix",
      "end_of_word_suffix", "fuse_unk", sp->kind == TOK_IMPORT_SPM, "byte_fallback", sp->kind == TOK_IMPORT_SPM,
      "ignore_merges", ignore_merges, "vocab", vocab, "merges", merges);
  vocab = merges = NULL; /* owned by model now (or freed by json_pack on failure) */
  json_t *added = added_tokens(sp);
  root = json_pack("{s:s, s:n, s:n, s:o, s:o, s:o, s:o, s:o, s:o}", "version", "1.0", "truncation", "padding",
      "added_tokens", added, "normalizer", normalizer, "pre_tokenizer", pre, "post_processor", post_processor(sp),
      "decoder", decoder, "model", model);
  pre = normalizer = decoder = NULL;
  if (!root || !(*json_out = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER)))
    s = lethe_fail(LETHE_ERR_NOMEM, "%s: cannot build the tokenizer.json document", sp->name);
done:
  json_decref(root);
  json_decref(vocab);
  json_decref(merges);
  json_decref(pre);
  json_decref(normalizer);
  json_decref(decoder);
  tok_strmap_free(&vm);
  return s;
}
