/* tokenizer/tok_internal.h: the types and helpers the tokenizer's parts share (private to
 * src/tokenizer). One lethe_tokenizer is either a Hugging Face tokenizer.json pipeline (added
 * tokens, normalizers, pre-tokenizers, a BPE model, a post-processor, decoders) or a llama2.c
 * vocabulary. Everything here is immutable after loading except the BPE word cache, which has its
 * own locks, so encode and decode may run on several threads at once. */
#ifndef LETHE_TOK_INTERNAL_H
#define LETHE_TOK_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "lethe/tokenizer.h"
#include "util/json.h"
#include "util/sbuf.h"

/* Ids are below 2^24 (16.7 million): far above any vocabulary, low enough that a hostile file
 * cannot make the id tables huge. */
#define TOK_MAX_ID (1 << 24)

/* ---- growable id and offset arrays (tok_util.c); text goes in util/sbuf.h's lethe_sbuf ---- */
typedef struct {
  int *p;
  size_t n, cap;
} tok_ivec;
typedef struct {
  size_t *p;
  size_t n, cap;
} tok_zvec;

lethe_status tok_ivec_reserve(tok_ivec *v, size_t extra);
lethe_status tok_ivec_push(tok_ivec *v, int x);
void tok_ivec_free(tok_ivec *v);
lethe_status tok_zvec_push(tok_zvec *v, size_t x);
void tok_zvec_free(tok_zvec *v);
char *tok_strndup(const char *s, size_t n);
lethe_status tok_nomem(const char *where);

/* ---- UTF-8 (tok_utf8.c) ---- */
/* Offset of the first byte that makes `s` invalid UTF-8 as Rust's str defines it (no overlongs,
 * no surrogates, nothing above U+10FFFF), or n when all of it is valid. */
size_t tok_utf8_invalid_at(const char *s, size_t n);
/* Length of the character starting with lead byte c (valid input assumed). */
static inline size_t tok_utf8_len(unsigned char c) { return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }
/* Decodes one character of valid UTF-8; returns its length. */
size_t tok_utf8_decode(const char *s, uint32_t *cp);
/* Encodes cp (<= 0x10FFFF) into out; returns the length (1..4). */
size_t tok_utf8_encode(uint32_t cp, char *out);
/* Appends `s` to out, each maximal invalid subpart replaced by U+FFFD (as Rust's
 * String::from_utf8_lossy does). */
lethe_status tok_utf8_lossy(const char *s, size_t n, lethe_sbuf *out);
/* Unicode White_Space (what Rust's char::is_whitespace and Oniguruma's \s match). */
int tok_is_whitespace(uint32_t cp);

/* ---- hashing (tok_hash.c) ---- */
uint64_t tok_hash(const void *p, size_t n);

/* String -> int32 map; keys are copied into an arena. */
typedef struct {
  uint32_t off, len, hash;
  int32_t val;
} tok_strmap_slot;
typedef struct {
  tok_strmap_slot *slots; /* hash == 0: empty */
  size_t mask, count;
  lethe_sbuf keys;
} tok_strmap;
lethe_status tok_strmap_init(tok_strmap *m, size_t expect);
/* Inserts or overwrites; *was_new (may be NULL) tells which. */
lethe_status tok_strmap_put(tok_strmap *m, const char *s, size_t n, int32_t val, int *was_new);
int32_t tok_strmap_get(const tok_strmap *m, const char *s, size_t n); /* -1 when absent */
const tok_strmap_slot *tok_strmap_find(const tok_strmap *m, const char *s, size_t n);
void tok_strmap_free(tok_strmap *m);

/* (int32, int32) -> (rank, new id) map for BPE merges. */
typedef struct {
  uint64_t key; /* UINT64_MAX: empty */
  uint32_t rank;
  int32_t id;
} tok_pair_slot;
typedef struct {
  tok_pair_slot *slots;
  size_t mask, count;
} tok_pairmap;
lethe_status tok_pairmap_init(tok_pairmap *m, size_t expect);
lethe_status tok_pairmap_put(tok_pairmap *m, int32_t a, int32_t b, uint32_t rank, int32_t id);
static inline const tok_pair_slot *tok_pairmap_get(const tok_pairmap *m, int32_t a, int32_t b) {
  uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  size_t i = (size_t)(h >> 32) & m->mask;
  for (;;) {
    const tok_pair_slot *s = &m->slots[i];
    if (s->key == key) return s;
    if (s->key == UINT64_MAX) return NULL;
    i = (i + 1) & m->mask;
  }
}
void tok_pairmap_free(tok_pairmap *m);

/* ---- regular expressions with Oniguruma semantics on PCRE2 (tok_regex.c) ---- */
typedef struct {
  pcre2_code *code;
  pcre2_match_context *mctx;
  char *source; /* the pattern as written, for messages */
} tok_regex;
/* Compiles an Oniguruma (Ruby syntax) pattern as tokenizers uses it, or, literal != 0, a plain
 * string matched as is. `where` names the place for error messages. */
lethe_status tok_regex_compile(const char *pat, size_t len, int literal, const char *where, tok_regex **out);
void tok_regex_free(tok_regex *re);
/* Appends (start, end) byte offsets of every match to `out`, in the order and with the empty-match
 * rule of the onig crate's find_iter. md: a match data block owned by the calling thread. */
lethe_status tok_regex_find_all(const tok_regex *re, pcre2_match_data *md, const char *s, size_t n, tok_zvec *out);
/* Translates an Oniguruma pattern to PCRE2 syntax (exposed for tests). */
lethe_status tok_regex_translate(const char *pat, size_t len, lethe_sbuf *out, const char *where);

/* Generated Unicode tables (tok_unicode_tables.c): PCRE2 class items that, added to PCRE2's
 * own property classes, give exactly the sets Oniguruma (as bundled with tokenizers) matches. */
extern const char tok_uc_space[];   /* the whole of \s */
extern const char tok_uc_extra_L[]; /* added to \p{L} */
extern const char tok_uc_extra_N[]; /* added to \p{N} */
extern const char tok_uc_extra_w[]; /* added to \p{L}\p{M}\p{Pc}\p{Nd}\p{Nl} */
extern const char tok_uc_extra_d[]; /* added to \p{Nd} */

/* ---- per-call scratch (one per encode call, never shared between threads) ---- */
typedef struct tok_bpe_scratch tok_bpe_scratch;
typedef struct {
  pcre2_match_data *md;
  lethe_sbuf norm[2];    /* normalizer ping-pong */
  lethe_sbuf *stage_buf; /* 2 per pre-tokenizer step */
  tok_zvec *stage_pos;   /* 1 per pre-tokenizer step: match offsets */
  tok_zvec seg;          /* added-token segments */
  tok_zvec seg2;
  tok_zvec mpos; /* normalizer regex matches */
  int npre;
  tok_bpe_scratch *bpe;
  tok_ivec *out;
} tok_ctx;

/* Sets up / releases a context for a tokenizer with `npre` pre-tokenizer steps (tok_hf.c). */
lethe_status tok_ctx_init(tok_ctx *ctx, int npre);
void tok_ctx_free(tok_ctx *ctx);

/* ---- normalizers (tok_normalizer.c) ---- */
typedef enum {
  TN_NFC,
  TN_NFD,
  TN_NFKC,
  TN_NFKD,
  TN_LOWERCASE,
  TN_PREPEND,
  TN_REPLACE,
  TN_STRIP,
  TN_BYTELEVEL
} tok_norm_kind;
typedef struct {
  tok_norm_kind kind;
  char *str; /* Prepend: the string; Replace: the content */
  size_t len;
  tok_regex *re; /* Replace */
  int left, right;
} tok_norm_step;
typedef struct {
  tok_norm_step *steps;
  int n;
} tok_normalizer;
lethe_status tok_normalizer_parse(const json_t *j, const char *name, tok_normalizer *out);
void tok_normalizer_free(tok_normalizer *nz);
/* Normalizes s[0..n): *out points to s itself or into ctx->norm. */
lethe_status tok_normalize(
    const tok_normalizer *nz, tok_ctx *ctx, const char *s, size_t n, const char **out, size_t *outn);

/* ---- pre-tokenizers (tok_pretokenizer.c) ---- */
typedef enum { TP_BYTELEVEL, TP_SPLIT, TP_DIGITS, TP_METASPACE, TP_WHITESPACE_SPLIT, TP_CHAR_SPLIT } tok_pre_kind;
typedef enum { TB_REMOVED, TB_ISOLATED, TB_MERGED_PREV, TB_MERGED_NEXT, TB_CONTIGUOUS } tok_behavior;
typedef enum { TPS_ALWAYS, TPS_FIRST, TPS_NEVER } tok_prepend_scheme;
typedef struct {
  tok_pre_kind kind;
  int add_prefix_space, use_regex;
  tok_regex *re; /* Split; ByteLevel with use_regex */
  tok_behavior behavior;
  int invert;
  int individual_digits;
  uint32_t ch; /* Metaspace replacement, CharDelimiterSplit delimiter */
  char chs[4];
  int chlen;
  tok_prepend_scheme scheme;
  int split;
} tok_pre_step;
typedef struct {
  tok_pre_step *steps;
  int n;
} tok_pretokenizer;
/* "prepend_scheme" (or the older "add_prefix_space") of Metaspace. */
lethe_status tok_parse_prepend_scheme(const json_t *j, const char *name, const char *where, tok_prepend_scheme *out);
lethe_status tok_pretokenizer_parse(const json_t *j, const char *name, tok_pretokenizer *out);
void tok_pretokenizer_free(tok_pretokenizer *pt);

/* ---- the BPE model (tok_bpe.c) and its word cache (tok_cache.c) ---- */
typedef struct tok_cache tok_cache;
typedef struct {
  tok_strmap vocab;
  size_t nvocab;    /* distinct strings in the vocabulary */
  uint32_t *id_off; /* id -> offset of its string in vocab.keys (UINT32_MAX: none) */
  uint32_t *id_len;
  int nids; /* largest id + 1 */
  tok_pairmap merges;
  int32_t *cp_id; /* single-codepoint tokens for U+0000..U+2FFF, -1 when absent */
  char *unk;      /* unk_token or NULL */
  size_t unk_len;
  char *prefix, *suffix; /* continuing_subword_prefix, end_of_word_suffix (or NULL) */
  size_t prefix_len, suffix_len;
  int fuse_unk, byte_fallback, ignore_merges;
  int32_t byte_id[256]; /* "<0xXX>" tokens for byte fallback, -1 when absent */
  tok_cache *cache;
} tok_bpe;
lethe_status tok_bpe_parse(const json_t *j, const char *name, tok_bpe *out);
void tok_bpe_free(tok_bpe *m);
/* Appends the ids of one pre-token (n > 0) to ctx->out. */
lethe_status tok_bpe_tokenize(const tok_bpe *m, tok_ctx *ctx, const char *s, size_t n);
void tok_bpe_scratch_free(tok_bpe_scratch *s);

tok_cache *tok_cache_new(void);
void tok_cache_free(tok_cache *c);
/* Looks a word up; on a hit appends its ids to out and returns 1. Never blocks: a busy shard is a
 * miss. */
int tok_cache_get(tok_cache *c, uint64_t h, const char *s, size_t n, tok_ivec *out);
/* Stores a word's ids (skipped when the shard is busy or the word is long). */
void tok_cache_put(tok_cache *c, uint64_t h, const char *s, size_t n, const int *ids, size_t nids);

/* ---- added tokens (tok_added.c) ---- */
typedef struct {
  char *content;
  size_t len;
  char *dec; /* normalized tokens: the normalized content, which decoding shows; or NULL */
  size_t dec_len;
  int id;
  int special, single_word, lstrip, rstrip, normalized;
} tok_added_token;
typedef struct tok_trie tok_trie;
typedef struct {
  tok_added_token *tok; /* one entry per id (a later token given the same id replaces it) */
  int ntok;
  int *by_id; /* id -> index into tok, -1 */
  int nby_id;
  tok_strmap map;         /* content -> id */
  tok_strmap special_set; /* contents of the special tokens */
  tok_trie *raw;          /* non-normalized tokens, matched in the raw text */
  tok_trie *norm;         /* normalized tokens, matched in normalized text */
} tok_added;
/* Reads "added_tokens" and assigns ids as tokenizers does (the model's id when the content is in
 * its vocabulary, else the next free id); builds the matchers (normalized contents go through the
 * normalizer first). */
lethe_status tok_added_parse(
    const json_t *j, const char *name, const tok_bpe *model, const tok_normalizer *nz, tok_added *out);
void tok_added_free(tok_added *a);
/* Splits s[0..n) around added tokens: appends triples (start, end, id or SIZE_MAX for text) to
 * out, covering s, in tokenizers' find_matches order (empty text pieces are not emitted). */
lethe_status tok_added_split(const tok_added *a, int normalized, const char *s, size_t n, tok_zvec *out);
int tok_added_find(const tok_added *a, const char *s, size_t n); /* index into tok, or -1 */
int tok_added_by_id(const tok_added *a, int id);                 /* index into tok, or -1 */

/* ---- post-processors (tok_postprocess.c) ---- */
typedef struct {
  int is_seq; /* 1: the sequence, 0: special ids */
  int *ids;
  int nids;
} tok_piece;
typedef struct {
  tok_piece *pieces;
  int npieces;
} tok_template;
typedef struct {
  tok_template *t; /* applied in order when add_special; none: nothing is added */
  int n;
  int bos, eos; /* single special ids before / after the sequence in the first template, -1 */
} tok_post;
lethe_status tok_post_parse(const json_t *j, const char *name, tok_post *out);
void tok_post_free(tok_post *p);
/* Applies the templates to out[start..] in place. */
lethe_status tok_post_apply(const tok_post *p, tok_ivec *ids);

/* ---- decoders (tok_decoder.c) ---- */
typedef enum { TD_BYTELEVEL, TD_REPLACE, TD_BYTEFALLBACK, TD_FUSE, TD_STRIP, TD_METASPACE } tok_dec_kind;
typedef struct {
  tok_dec_kind kind;
  tok_regex *re; /* Replace */
  char *content; /* Replace: content */
  size_t content_len;
  uint32_t ch; /* Strip: the char; Metaspace: replacement */
  int start, stop;
  tok_prepend_scheme scheme;
} tok_dec_step;
typedef struct {
  tok_dec_step *steps;
  int n;
  int present; /* 0: no decoder, tokens are joined with spaces */
} tok_decoder;
lethe_status tok_decoder_parse(const json_t *j, const char *name, tok_decoder *out);
void tok_decoder_free(tok_decoder *d);
/* Decodes token strings (NUL-terminated) as the decoder chain does; result appended to out. */
lethe_status tok_decode_tokens(
    const tok_decoder *d, const char *const *toks, const size_t *lens, size_t n, lethe_sbuf *out);

/* ---- byte-level alphabet (tok_bytelevel.c) ---- */
/* The character GPT-2's byte-level alphabet uses for byte b, UTF-8 encoded (2 bytes at most). */
extern const char tok_bl_char[256][3];
extern const uint8_t tok_bl_char_len[256];
/* The byte for a code point of the alphabet, or -1. */
int tok_bl_byte(uint32_t cp);

/* ---- llama2.c vocabulary (tok_llama2c.c) ---- */
typedef struct tok_l2c tok_l2c;
lethe_status tok_l2c_load(const uint8_t *data, size_t size, const char *name, tok_l2c **out);
void tok_l2c_free(tok_l2c *l);
lethe_status tok_l2c_encode(const tok_l2c *l, const char *text, size_t len, int bos, tok_ivec *out);
lethe_status tok_l2c_decode(const tok_l2c *l, const int *ids, int n, int skip_special, lethe_sbuf *out);
int tok_l2c_vocab_size(const tok_l2c *l);
int tok_l2c_token_to_id(const tok_l2c *l, const char *s, size_t n);
/* Token `id` (in [0, vocab_size)) as the file has it: its bytes (*len of them, NUL-terminated) and
 * its score. */
const char *tok_l2c_piece(const tok_l2c *l, int id, size_t *len);
float tok_l2c_score(const tok_l2c *l, int id);
/* The vocabulary as SentencePiece-style BPE tokenizer.json text (malloc'ed; tok_llama2c_json.c);
 * `name` is for messages. */
lethe_status tok_l2c_import_json(const tok_l2c *l, const char *name, char **json_out);

/* ---- the tokenizer ---- */
typedef enum { TOK_HF, TOK_L2C } tok_kind;
struct lethe_tokenizer {
  tok_kind kind;
  char *name;
  int vocab_size;
  int bos, eos;
  /* Hugging Face */
  tok_added added;
  tok_normalizer norm;
  tok_pretokenizer pre;
  tok_bpe bpe;
  tok_post post;
  tok_decoder dec;
  uint8_t *special; /* [vocab_size]: 1 when skipped by decode(skip_special) */
  /* llama2.c */
  tok_l2c *l2c;
};

/* Parses a tokenizer.json document into t (tok_hf.c). */
lethe_status tok_hf_build(lethe_tokenizer *t, const char *json, size_t len);
lethe_status tok_hf_encode(const lethe_tokenizer *t, const char *text, size_t len, tok_ivec *out);
lethe_status tok_hf_decode(const lethe_tokenizer *t, const int *ids, int n, int skip_special, lethe_sbuf *out);
/* Appends the ids of one pre-tokenized piece chain (pre-tokenizers from step `k` on). */
lethe_status tok_pretokenize(const lethe_tokenizer *t, tok_ctx *ctx, int k, const char *s, size_t n, int at_origin);

/* tokenizer.json specifics (tok_json.c), on util/json.h's field getters: each fails with
 * "NAME: WHERE: problem". */
/* The "type" field of a component object. */
lethe_status tok_json_type(const json_t *obj, const char *name, const char *where, const char **type);
/* A {"String": s} or {"Regex": r} pattern field, compiled. */
lethe_status tok_json_pattern(const json_t *obj, const char *key, const char *name, const char *where, tok_regex **re);
/* A one-character string field as a code point. */
lethe_status tok_json_get_char(
    const json_t *obj, const char *key, uint32_t dflt, const char *name, const char *where, uint32_t *out);

#endif
