/* data/data.h: training and evaluation data. LUME / SemEval rows ({"id", "input", "output",
 * "task"}, extra fields ignored) and plain-text documents ({"document"} or {"text"}) read from
 * JSONL; tokenised with prompt masking (the first len(encode(input)) positions get no loss);
 * batched as seeded shuffles of the union of forget and retain rows. */
#ifndef LETHE_DATA_H
#define LETHE_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "lethe/data.h"
#include "lethe/split.h" /* lethe_split: LETHE_SPLIT_FORGET, LETHE_SPLIT_RETAIN */
#include "lethe/status.h"
#include "lethe/tokenizer.h"

typedef struct {
  char *id;
  char *task;
  char *input;  /* (input_len) bytes, NUL-terminated; may hold NUL bytes */
  char *output; /* (output_len) */
  size_t input_len, output_len;
  int line; /* 1-based line in the file */
} lethe_row;

typedef struct {
  lethe_row *rows;
  int n;
  char *path;
} lethe_rowset;

/* LUME rows: id (string or integer), input and output (strings) are required, task optional.
 * JSONL or Parquet (data/parquet.h), chosen by the file's first bytes ("PAR1"), not its name.
 * An empty file is an error. Errors name the file and line (Parquet: row). */
lethe_status lethe_rows_load(const char *path, lethe_rowset *out);
/* Documents: each line {"document": ...} or {"text": ...} (id optional); the whole text is the
 * "output" of a row with an empty input, so every token is scored. */
lethe_status lethe_docs_load(const char *path, lethe_rowset *out);
/* Rows (docs = 0) or documents (docs = 1) with a bound on a JSONL line's bytes (0: the default). */
lethe_status lethe_rowset_load_max(const char *path, int docs, size_t max_line, lethe_rowset *out);
/* Moves the rows of `more` to the end of `to` (row numbers then run on: to's rows, then more's);
 * to->path becomes "TO + MORE" and `more` is left empty. On an error both are unchanged. */
lethe_status lethe_rowset_append(lethe_rowset *to, lethe_rowset *more);
void lethe_rowset_free(lethe_rowset *r);

/* Tokenised sequences of one or two row sets. Sequence i has tokens[offset[i] .. offset[i+1]),
 * the first n_prompt[i] of them prompt; lethe_packed_fill makes the targets when it packs a batch. */
typedef struct {
  int n;
  int *offset;          /* (n + 1) */
  int *tokens;          /* (offset[n]) */
  int *n_prompt;        /* (n) */
  unsigned char *split; /* (n) lethe_split */
  int *row;             /* (n) index of the row in its row set */
  int max_len;          /* longest sequence */
  int n_truncated;      /* rows cut to max_len */
  int n_skipped;        /* rows with no answer token left (not in the set) */
  int n_answer_tokens;  /* scored positions over all sequences */
} lethe_tokset;

/* Tokenises forget (may be NULL) and retain (may be NULL) rows: ids = encode(input + output),
 * prompt = len(encode(input)) (add_special as Hugging Face's default), then eos_id appended when
 * eos_id >= 0 (so that a model trained on the rows learns to stop). Sequences longer than max_len
 * are cut to max_len (counted). Rows that keep no answer token are skipped (counted). */
lethe_status lethe_tokset_build(const lethe_tokenizer *tok, const lethe_rowset *forget, const lethe_rowset *retain,
    int max_len, int eos_id, lethe_tokset *out);
void lethe_tokset_free(lethe_tokset *t);
/* The first token id of the set outside [0, vocab): its sequence in *seq; -1 when all are inside. */
int lethe_tokset_first_outside(const lethe_tokset *t, int vocab, int *seq);
static inline int lethe_tokset_len(const lethe_tokset *t, int i) { return t->offset[i + 1] - t->offset[i]; }
/* Number of scored positions of sequence i: positions n_prompt-1 .. len-2 (at least position 0). */
int lethe_tokset_answer_count(const lethe_tokset *t, int i);

/* A packed batch of sequences: tokens, targets (-1 on prompt positions and the last position),
 * sequence starts, and which tokset sequence each is. Buffers are sized once for the largest
 * batch; lethe_packed_fill fills them without allocating. */
typedef struct {
  int cap_tokens, cap_seqs;
  int n_seq, n_tokens;
  int *tokens;     /* (cap_tokens) */
  int *targets;    /* (cap_tokens) */
  int *start;      /* (cap_seqs + 1) */
  int *seq;        /* (cap_seqs) tokset index of each sequence */
  int *answer_off; /* (cap_seqs + 1) offset of each sequence's first scored row among the batch's */
} lethe_packed;

lethe_status lethe_packed_init(lethe_packed *p, int cap_tokens, int cap_seqs);
void lethe_packed_free(lethe_packed *p);
/* Packs sequences idx[0..n) of t. */
lethe_status lethe_packed_fill(lethe_packed *p, const lethe_tokset *t, const int *idx, int n);

/* The order of sequences for an epoch: a permutation of 0..n-1 that depends only on (seed,
 * epoch), so that a resumed run sees the same batches. */
void lethe_epoch_order(uint64_t seed, int epoch, int n, int *order);

#endif
