/* eval/porter.c: the Porter stemmer as nltk's PorterStemmer runs it in its default mode
 * (NLTK_EXTENSIONS), which rouge-score uses: Porter's 1980 steps with Martin Porter's later
 * changes and nltk's own (a table of irregular forms, words of 1-2 letters kept, "ies"/"ied" on
 * 4-letter words, the y -> i condition, "alli" first in step 2, "fulli", the "logi" rule, a
 * 2-letter *o condition). Written from the algorithm's description; checked against nltk word
 * by word by tests/eval/test_eval_porter.c. */
#include <string.h>

#include "lethe/eval_text.h"

typedef struct {
  char *w; /* the word being stemmed, in place */
  size_t n;
} word_t;

static int is_vowel_letter(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

/* A consonant is a letter other than a, e, i, o, u, and other than a y preceded by a consonant
 * (a leading y is a consonant). Anything not a vowel (digits included) counts as a consonant. */
static int is_cons(const char *w, size_t i) {
  int negate = 0;
  while (i > 0 && w[i] == 'y') {
    negate = !negate;
    i--;
  }
  int cons = !is_vowel_letter(w[i]); /* w[0] == 'y' is a consonant */
  return cons != negate;
}

/* m: the number of vowel-consonant transitions of w[0..n). */
static int measure(const char *w, size_t n) {
  int m = 0, prev_cons = 1, prev_valid = 0;
  for (size_t i = 0; i < n; i++) {
    int c;
    if (is_vowel_letter(w[i]))
      c = 0;
    else if (w[i] == 'y')
      c = i == 0 ? 1 : !prev_cons;
    else
      c = 1;
    if (prev_valid && !prev_cons && c) m++;
    prev_cons = c;
    prev_valid = 1;
  }
  return m;
}

static int contains_vowel(const char *w, size_t n) {
  int prev_cons = 1;
  for (size_t i = 0; i < n; i++) {
    int c;
    if (is_vowel_letter(w[i]))
      c = 0;
    else if (w[i] == 'y')
      c = i == 0 ? 1 : !prev_cons;
    else
      c = 1;
    if (!c) return 1;
    prev_cons = c;
  }
  return 0;
}

static int ends_double_cons(const char *w, size_t n) { return n >= 2 && w[n - 1] == w[n - 2] && is_cons(w, n - 1); }

/* *o: the stem ends consonant-vowel-consonant, the last not w, x or y; nltk also accepts a
 * 2-letter vowel-consonant stem. */
static int ends_cvc(const char *w, size_t n) {
  if (n >= 3 && is_cons(w, n - 3) && !is_cons(w, n - 2) && is_cons(w, n - 1) && w[n - 1] != 'w' && w[n - 1] != 'x' &&
      w[n - 1] != 'y')
    return 1;
  return n == 2 && !is_cons(w, 0) && is_cons(w, 1);
}

static int ends_with(const word_t *x, const char *suffix) {
  size_t k = strlen(suffix);
  return x->n >= k && memcmp(x->w + x->n - k, suffix, k) == 0;
}

/* Replaces the last `cut` bytes by `rep` (never longer than what was cut plus what the caller
 * knows is room: every rule here shortens the word or keeps it within its original length). */
static void replace_tail(word_t *x, size_t cut, const char *rep) {
  size_t k = strlen(rep);
  x->n -= cut;
  memcpy(x->w + x->n, rep, k);
  x->n += k;
}

typedef enum { C_NONE, C_M0, C_M1, C_ION, C_LOGI, C_Y } cond_t;

typedef struct {
  const char *suffix;
  const char *rep;
  cond_t cond;
} rule_t;

static int cond_holds(cond_t c, const word_t *x, size_t stem_n) {
  const char *w = x->w;
  switch (c) {
  case C_NONE: return 1;
  case C_M0: return measure(w, stem_n) > 0;
  case C_M1: return measure(w, stem_n) > 1;
  case C_ION: return measure(w, stem_n) > 1 && stem_n > 0 && (w[stem_n - 1] == 's' || w[stem_n - 1] == 't');
  case C_LOGI: return measure(w, x->n - 3) > 0; /* the stem keeps the 'l' of "logi" */
  case C_Y: return stem_n > 1 && is_cons(w, stem_n - 1);
  }
  return 0;
}

/* The first rule whose suffix ends the word decides: it applies when its condition holds, and
 * no later rule is tried either way. */
static void apply_rules(word_t *x, const rule_t *rules, size_t n_rules) {
  for (size_t i = 0; i < n_rules; i++) {
    if (!ends_with(x, rules[i].suffix)) continue;
    size_t stem_n = x->n - strlen(rules[i].suffix);
    if (cond_holds(rules[i].cond, x, stem_n)) replace_tail(x, strlen(rules[i].suffix), rules[i].rep);
    return;
  }
}

static void step1a(word_t *x) {
  if (x->n == 4 && ends_with(x, "ies")) {
    replace_tail(x, 3, "ie");
    return;
  }
  static const rule_t r[] = {{"sses", "ss", C_NONE}, {"ies", "i", C_NONE}, {"ss", "ss", C_NONE}, {"s", "", C_NONE}};
  apply_rules(x, r, sizeof r / sizeof r[0]);
}

static void step1b(word_t *x) {
  if (ends_with(x, "ied")) {
    replace_tail(x, 3, x->n == 4 ? "ie" : "i");
    return;
  }
  if (ends_with(x, "eed")) {
    if (measure(x->w, x->n - 3) > 0) replace_tail(x, 3, "ee");
    return;
  }
  size_t cut = 0;
  if (ends_with(x, "ed") && contains_vowel(x->w, x->n - 2))
    cut = 2;
  else if (ends_with(x, "ing") && contains_vowel(x->w, x->n - 3))
    cut = 3;
  if (!cut) return;
  x->n -= cut;
  /* On the intermediate stem: AT -> ATE, BL -> BLE, IZ -> IZE; else a double consonant other
   * than l, s, z loses one letter; else (m = 1 and *o) -> + E. */
  if (ends_with(x, "at") || ends_with(x, "bl") || ends_with(x, "iz")) {
    x->w[x->n++] = 'e';
    return;
  }
  if (ends_double_cons(x->w, x->n)) {
    char last = x->w[x->n - 1];
    if (last != 'l' && last != 's' && last != 'z') x->n--;
    return;
  }
  if (ends_with(x, "*d")) { /* nltk also matches its "*d" rule name as a literal suffix */
    x->n -= 2;
    x->w[x->n++] = 'd';
    return;
  }
  if (measure(x->w, x->n) == 1 && ends_cvc(x->w, x->n)) x->w[x->n++] = 'e';
}

static void step1c(word_t *x) {
  static const rule_t r[] = {{"y", "i", C_Y}};
  apply_rules(x, r, 1);
}

static void step2(word_t *x) {
  if (ends_with(x, "alli") && measure(x->w, x->n - 4) > 0) {
    replace_tail(x, 4, "al");
    step2(x);
    return;
  }
  static const rule_t r[] = {
      {"ational", "ate", C_M0},
      {"tional", "tion", C_M0},
      {"enci", "ence", C_M0},
      {"anci", "ance", C_M0},
      {"izer", "ize", C_M0},
      {"bli", "ble", C_M0},
      {"alli", "al", C_M0},
      {"entli", "ent", C_M0},
      {"eli", "e", C_M0},
      {"ousli", "ous", C_M0},
      {"ization", "ize", C_M0},
      {"ation", "ate", C_M0},
      {"ator", "ate", C_M0},
      {"alism", "al", C_M0},
      {"iveness", "ive", C_M0},
      {"fulness", "ful", C_M0},
      {"ousness", "ous", C_M0},
      {"aliti", "al", C_M0},
      {"iviti", "ive", C_M0},
      {"biliti", "ble", C_M0},
      {"fulli", "ful", C_M0},
      {"logi", "log", C_LOGI},
  };
  apply_rules(x, r, sizeof r / sizeof r[0]);
}

static void step3(word_t *x) {
  static const rule_t r[] = {
      {"icate", "ic", C_M0},
      {"ative", "", C_M0},
      {"alize", "al", C_M0},
      {"iciti", "ic", C_M0},
      {"ical", "ic", C_M0},
      {"ful", "", C_M0},
      {"ness", "", C_M0},
  };
  apply_rules(x, r, sizeof r / sizeof r[0]);
}

static void step4(word_t *x) {
  static const rule_t r[] = {
      {"al", "", C_M1},
      {"ance", "", C_M1},
      {"ence", "", C_M1},
      {"er", "", C_M1},
      {"ic", "", C_M1},
      {"able", "", C_M1},
      {"ible", "", C_M1},
      {"ant", "", C_M1},
      {"ement", "", C_M1},
      {"ment", "", C_M1},
      {"ent", "", C_M1},
      {"ion", "", C_ION},
      {"ou", "", C_M1},
      {"ism", "", C_M1},
      {"ate", "", C_M1},
      {"iti", "", C_M1},
      {"ous", "", C_M1},
      {"ive", "", C_M1},
      {"ize", "", C_M1},
  };
  apply_rules(x, r, sizeof r / sizeof r[0]);
}

static void step5a(word_t *x) {
  if (!ends_with(x, "e")) return;
  int m = measure(x->w, x->n - 1);
  if (m > 1 || (m == 1 && !ends_cvc(x->w, x->n - 1))) x->n--;
}

static void step5b(word_t *x) {
  if (ends_with(x, "ll") && measure(x->w, x->n - 1) > 1) x->n--;
}

/* nltk's irregular forms: word -> stem. */
static const char *const k_irregular[][2] = {
    {"sky", "sky"},
    {"skies", "sky"},
    {"dying", "die"},
    {"lying", "lie"},
    {"tying", "tie"},
    {"news", "news"},
    {"innings", "inning"},
    {"inning", "inning"},
    {"outings", "outing"},
    {"outing", "outing"},
    {"cannings", "canning"},
    {"canning", "canning"},
    {"howe", "howe"},
    {"proceed", "proceed"},
    {"exceed", "exceed"},
    {"succeed", "succeed"},
};

size_t lethe_porter_stem(const char *word, size_t len, char *out) {
  for (size_t i = 0; i < len; i++) {
    char c = word[i];
    out[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
  }
  out[len] = 0;
  for (size_t i = 0; i < sizeof k_irregular / sizeof k_irregular[0]; i++) {
    if (strlen(k_irregular[i][0]) == len && memcmp(out, k_irregular[i][0], len) == 0) {
      size_t k = strlen(k_irregular[i][1]);
      memcpy(out, k_irregular[i][1], k + 1);
      return k;
    }
  }
  if (len <= 2) return len;
  word_t x = {out, len};
  step1a(&x);
  step1b(&x);
  step1c(&x);
  step2(&x);
  step3(&x);
  step4(&x);
  step5a(&x);
  step5b(&x);
  out[x.n] = 0;
  return x.n;
}
