/* lethe/eval_text.h: the scorer's text metrics: nltk's Porter stemmer, rouge-score's tokenizer and
 * ROUGE-L, the official exact match (Python 3.11 strip / lower) and pandas' NA strings. The
 * conventions every eval header follows are in lethe/eval.h. */
#ifndef LETHE_EVAL_TEXT_H
#define LETHE_EVAL_TEXT_H

#include <stddef.h>

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* nltk's PorterStemmer() (mode NLTK_EXTENSIONS, the default, as rouge-score uses it)
 * .stem(word): writes the stem to out (room for len + 1 bytes; the stem is never longer than the
 * word) NUL-terminated and returns its length. Defined for ASCII words (ASCII letters are
 * lower-cased first); rouge-score only passes it [a-z0-9]+ tokens longer than 3 characters. */
size_t lethe_porter_stem(const char *word, size_t len, char *out);

/* rouge-score's default tokenizer: Python str.lower(), every run of characters other than
 * [a-z0-9] becomes a separator, and with stem != 0 each token longer than 3 characters goes
 * through lethe_porter_stem. tokens[i] are NUL-terminated strings inside one allocation. */
typedef struct {
  char **tokens;
  size_t n;
  char *buf_; /* owns the token text */
} lethe_rouge_tokens;

lethe_status lethe_rouge_tokenize(const char *text, size_t len, int stem, lethe_rouge_tokens *out);
void lethe_rouge_tokens_free(lethe_rouge_tokens *t);

typedef struct {
  double precision; /* LCS / prediction tokens */
  double recall;    /* LCS / target tokens: the task's regurgitation score */
  double fmeasure;  /* 2 p r / (p + r), 0 when p + r == 0 */
} lethe_rouge_score;

/* ROUGE-L exactly as rouge_scorer.RougeScorer(['rougeL'], use_stemmer=True)
 * .score(target=target, prediction=prediction)['rougeL']: all three are 0 when either side has
 * no token. */
lethe_status lethe_rouge_l(
    const char *target, size_t target_len, const char *prediction, size_t prediction_len, lethe_rouge_score *out);

/* The official knowledge score: 1 when a.strip().lower() == b.strip().lower() in Python 3.11
 * (Unicode whitespace as str.isspace, full lower-casing: U+0130 -> "i\u0307", final sigma, the
 * Unicode 14 tables Python 3.11 uses), else 0. */
int lethe_exact_match(const char *a, size_t alen, const char *b, size_t blen);

/* The official script writes the rows to CSV with pandas and reads them back, so a text equal to
 * one of pandas' default NA strings ("", "NA", "N/A", "NULL", "None", "NaN", "nan", "null",
 * "n/a", "<NA>", "#N/A", "#NA", "#N/A N/A", "-NaN", "-nan", "1.#IND", "1.#QNAN", "-1.#IND",
 * "-1.#QNAN") is scored as the string "nan". Non-zero when `s` is one of them. */
int lethe_eval_pandas_na(const char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
