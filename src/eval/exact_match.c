/* eval/exact_match.c: the knowledge score, str(gt).strip().lower() == str(gen).strip().lower(),
 * and pandas' NA strings that the official script's CSV round trip turns into "nan". */
#include <string.h>

#include "eval/pytext.h"
#include "lethe/eval_text.h"

int lethe_exact_match(const char *a, size_t alen, const char *b, size_t blen) {
  size_t a0, a1, b0, b1;
  lethe_py_strip(a, alen, &a0, &a1);
  lethe_py_strip(b, blen, &b0, &b1);
  lethe_py_lower_iter ia, ib;
  lethe_py_lower_begin(&ia, a + a0, a1 - a0);
  lethe_py_lower_begin(&ib, b + b0, b1 - b0);
  for (;;) {
    int64_t ca = lethe_py_lower_next(&ia);
    int64_t cb = lethe_py_lower_next(&ib);
    if (ca != cb) return 0;
    if (ca < 0) return 1;
  }
}

/* pandas.read_csv's default na_values (pandas._libs.parsers.STR_NA_VALUES); the fixture script
 * checks this list against the installed pandas. */
static const char *const k_pandas_na[] = {
    "",
    "#N/A",
    "#N/A N/A",
    "#NA",
    "-1.#IND",
    "-1.#QNAN",
    "-NaN",
    "-nan",
    "1.#IND",
    "1.#QNAN",
    "<NA>",
    "N/A",
    "NA",
    "NULL",
    "NaN",
    "None",
    "n/a",
    "nan",
    "null",
};

int lethe_eval_pandas_na(const char *s, size_t len) {
  for (size_t i = 0; i < sizeof k_pandas_na / sizeof k_pandas_na[0]; i++)
    if (strlen(k_pandas_na[i]) == len && memcmp(k_pandas_na[i], s, len) == 0) return 1;
  return 0;
}
