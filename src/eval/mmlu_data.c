/* eval/mmlu_data.c: MMLU as hendrycks' CSVs lay it out (DIR/dev/SUBJECT_dev.csv,
 * DIR/test/SUBJECT_test.csv; no header; question, A, B, C, D, answer letter) and the k-shot
 * prompt of hendrycks' evaluate.py, which the task's run_mmlu.py uses unchanged. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "lethe/eval_text.h"
#include "lethe/eval_mmlu.h"
#include "util/array.h"
#include "util/error.h"
#include "util/fileio.h"
#include "util/sbuf.h"

#define MMLU_MAX_FILE_BYTES ((size_t)256 << 20)
#define MMLU_FIELDS 6

/* One CSV field's bytes. */
typedef lethe_sbuf field_buf;

static int fb_push(field_buf *f, char c) { return lethe_sbuf_put(f, &c, 1) == LETHE_OK; }

void lethe_mmlu_items_free(lethe_mmlu_item *items, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(items[i].question);
    for (int c = 0; c < 4; c++) free(items[i].choices[c]);
  }
  free(items);
}

/* One field's text; with literal == 0 pandas' NA strings read as "nan". */
static char *field_text(const field_buf *f, int literal) {
  if (!literal && lethe_eval_pandas_na(f->p ? f->p : "", f->n)) return strdup("nan");
  char *s = malloc(f->n + 1);
  if (s) {
    if (f->n) memcpy(s, f->p, f->n);
    s[f->n] = 0;
  }
  return s;
}

typedef struct {
  lethe_mmlu_item *v;
  size_t n, cap;
} item_vec;

static lethe_status add_record(
    item_vec *items, field_buf *fields, size_t n_fields, const char *path, size_t line, int literal) {
  if (n_fields != MMLU_FIELDS)
    return lethe_fail(
        LETHE_ERR_FORMAT, "%s:%zu: %zu fields, expected 6 (question, A, B, C, D, answer)", path, line, n_fields);
  const field_buf *ans = &fields[5];
  if (ans->n != 1 || ans->p[0] < 'A' || ans->p[0] > 'D')
    return lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: answer \"%.*s\" is not one of A, B, C, D", path, line,
        (int)(ans->n > 20 ? 20 : ans->n), ans->p ? ans->p : "");
  LETHE_TRY(LETHE_ARRAY_RESERVE1(items->v, items->n, items->cap, path));
  lethe_mmlu_item *it = &items->v[items->n];
  memset(it, 0, sizeof *it);
  it->question = field_text(&fields[0], literal);
  for (int c = 0; c < 4; c++) it->choices[c] = field_text(&fields[1 + c], literal);
  it->answer = ans->p[0] - 'A';
  it->line = line;
  items->n++;
  if (!it->question || !it->choices[0] || !it->choices[1] || !it->choices[2] || !it->choices[3])
    return lethe_fail(LETHE_ERR_NOMEM, "%s:%zu: out of memory", path, line);
  return LETHE_OK;
}

/* RFC 4180 with pandas' leniency: records end at \n, \r\n or \r outside quotes; a field that
 * starts with '"' runs to the next '"' not doubled ("" is a literal quote) and may hold commas
 * and line breaks; a '"' inside an unquoted field is literal; blank lines are skipped. */
static lethe_status parse_csv(const char *path, const char *s, size_t n, int literal, item_vec *items) {
  field_buf fields[MMLU_FIELDS + 1];
  memset(fields, 0, sizeof fields);
  lethe_status st = LETHE_OK;
  size_t i = 0, line = 1;
  if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) i = 3; /* a UTF-8 byte order mark */
  while (i < n && st == LETHE_OK) {
    /* One record. */
    size_t rec_line = line, n_fields = 0;
    if (s[i] == '\n' || s[i] == '\r') { /* blank line */
      i += (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
      line++;
      continue;
    }
    for (;;) {
      field_buf *f = &fields[n_fields < MMLU_FIELDS ? n_fields : MMLU_FIELDS];
      f->n = 0;
      n_fields++;
      if (i < n && s[i] == '"') {
        size_t q_line = line;
        i++;
        for (;;) {
          if (i >= n) {
            st = lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: unterminated quoted field", path, q_line);
            goto done;
          }
          if (s[i] == '"') {
            if (i + 1 < n && s[i + 1] == '"') {
              if (!fb_push(f, '"')) goto oom;
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (s[i] == '\n' || (s[i] == '\r' && !(i + 1 < n && s[i + 1] == '\n'))) line++;
          if (!fb_push(f, s[i])) goto oom;
          i++;
        }
        if (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
          st = lethe_fail(LETHE_ERR_FORMAT, "%s:%zu: unexpected character '%c' after a quoted field", path, line, s[i]);
          goto done;
        }
      } else {
        while (i < n && s[i] != ',' && s[i] != '\n' && s[i] != '\r') {
          if (!fb_push(f, s[i])) goto oom;
          i++;
        }
      }
      if (i < n && s[i] == ',') {
        i++;
        continue;
      }
      break; /* end of record: \n, \r or the end of the file */
    }
    if (i < n) {
      i += (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') ? 2 : 1;
      line++;
    }
    st = add_record(items, fields, n_fields, path, rec_line, literal);
  }
  goto done;
oom:
  st = lethe_fail(LETHE_ERR_NOMEM, "%s:%zu: out of memory", path, line);
done:
  for (int k = 0; k <= MMLU_FIELDS; k++) free(fields[k].p);
  return st;
}

lethe_status lethe_mmlu_read_csv(const char *path, const lethe_mmlu_opts *opt, lethe_mmlu_item **items, size_t *n) {
  *items = NULL;
  *n = 0;
  char *text;
  size_t len;
  LETHE_TRY(lethe_read_file(path, MMLU_MAX_FILE_BYTES, &text, &len));
  /* invalid UTF-8 is this file's fault: said here, not later by the tokenizer */
  size_t line_no = 1;
  for (size_t i = 0; i < len;) {
    utf8proc_int32_t cp;
    utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)text + i, (utf8proc_ssize_t)(len - i), &cp);
    if (k <= 0) {
      unsigned byte = (unsigned char)text[i];
      free(text);
      return lethe_fail(
          LETHE_ERR_FORMAT, "%s:%zu: invalid UTF-8 at byte offset %zu (byte 0x%02x)", path, line_no, i, byte);
    }
    line_no += cp == '\n';
    i += (size_t)k;
  }
  item_vec v = {0};
  lethe_status st = parse_csv(path, text, len, opt ? opt->literal_text : 0, &v);
  free(text);
  if (st == LETHE_OK && v.n == 0) st = lethe_fail(LETHE_ERR_FORMAT, "%s: no questions", path);
  if (st != LETHE_OK) {
    lethe_mmlu_items_free(v.v, v.n);
    return st;
  }
  *items = v.v;
  *n = v.n;
  return LETHE_OK;
}

void lethe_mmlu_free(lethe_mmlu_set *set) {
  for (size_t i = 0; i < set->n_subjects; i++) {
    lethe_mmlu_subject *s = &set->subjects[i];
    free(s->name);
    lethe_mmlu_items_free(s->dev, s->n_dev);
    lethe_mmlu_items_free(s->test, s->n_test);
  }
  free(set->subjects);
  memset(set, 0, sizeof *set);
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char k_test_suffix[] = "_test.csv";

/* The subjects: names of DIR/test/SUBJECT_test.csv, sorted (as run_mmlu.py sorts them). */
static lethe_status list_subjects(const char *test_dir, char ***names, size_t *n) {
  *names = NULL;
  *n = 0;
  DIR *d = opendir(test_dir);
  if (!d) return lethe_fail(LETHE_ERR_IO, "%s: cannot open the MMLU test directory", test_dir);
  char **v = NULL;
  size_t cnt = 0, cap = 0;
  lethe_status st = LETHE_OK;
  struct dirent *e;
  size_t sl = sizeof k_test_suffix - 1;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len <= sl || strcmp(e->d_name + len - sl, k_test_suffix) != 0) continue;
    if ((st = LETHE_ARRAY_RESERVE1(v, cnt, cap, test_dir)) != LETHE_OK) break;
    v[cnt] = strndup(e->d_name, len - sl);
    if (!v[cnt]) {
      st = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", test_dir);
      break;
    }
    cnt++;
  }
  closedir(d);
  if (st == LETHE_OK && cnt == 0) st = lethe_fail(LETHE_ERR_FORMAT, "%s: no SUBJECT_test.csv files", test_dir);
  if (st != LETHE_OK) {
    for (size_t i = 0; i < cnt; i++) free(v[i]);
    free(v);
    return st;
  }
  qsort(v, cnt, sizeof *v, cmp_name);
  *names = v;
  *n = cnt;
  return LETHE_OK;
}

lethe_status lethe_mmlu_load(const char *dir, const lethe_mmlu_opts *opt, lethe_mmlu_set *out) {
  memset(out, 0, sizeof *out);
  char *test_dir = lethe_path_join(dir, "test");
  char *dev_dir = lethe_path_join(dir, "dev");
  char **names = NULL;
  size_t n = 0;
  lethe_status st = (!test_dir || !dev_dir) ? lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", dir)
                                            : list_subjects(test_dir, &names, &n);
  if (st == LETHE_OK) {
    out->subjects = calloc(n, sizeof *out->subjects);
    if (!out->subjects) st = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", dir);
  }
  for (size_t i = 0; i < n && st == LETHE_OK; i++) {
    lethe_mmlu_subject *s = &out->subjects[i];
    s->name = names[i];
    names[i] = NULL;
    out->n_subjects = i + 1;
    size_t fl = strlen(s->name) + sizeof k_test_suffix;
    char *file = malloc(fl);
    if (!file) {
      st = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", dir);
      break;
    }
    snprintf(file, fl, "%s_dev.csv", s->name);
    char *dev_path = lethe_path_join(dev_dir, file);
    snprintf(file, fl, "%s_test.csv", s->name);
    char *test_path = lethe_path_join(test_dir, file);
    free(file);
    if (!dev_path || !test_path) st = lethe_fail(LETHE_ERR_NOMEM, "%s: out of memory", dir);
    if (st == LETHE_OK) st = lethe_mmlu_read_csv(dev_path, opt, &s->dev, &s->n_dev);
    if (st == LETHE_OK) st = lethe_mmlu_read_csv(test_path, opt, &s->test, &s->n_test);
    if (st == LETHE_OK && opt && opt->limit && s->n_test > opt->limit) {
      for (size_t q = opt->limit; q < s->n_test; q++) {
        free(s->test[q].question);
        for (int c = 0; c < 4; c++) free(s->test[q].choices[c]);
      }
      s->n_test = opt->limit;
    }
    free(dev_path);
    free(test_path);
  }
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
  free(test_dir);
  free(dev_dir);
  if (st != LETHE_OK) lethe_mmlu_free(out);
  return st;
}

static void put(char **p, const char *s) {
  size_t k = strlen(s);
  memcpy(*p, s, k);
  *p += k;
}

static size_t example_len(const lethe_mmlu_item *it) {
  size_t k = strlen(it->question) + strlen("\nAnswer:") + strlen(" X\n\n");
  for (int c = 0; c < 4; c++) k += strlen("\nA. ") + strlen(it->choices[c]);
  return k;
}

/* hendrycks' format_example: QUESTION, "\nA. a" ... "\nD. d", "\nAnswer:", then " X\n\n" when
 * the answer is included. */
static void put_example(char **p, const lethe_mmlu_item *it, int with_answer) {
  static const char *const letter[4] = {"\nA. ", "\nB. ", "\nC. ", "\nD. "};
  put(p, it->question);
  for (int c = 0; c < 4; c++) {
    put(p, letter[c]);
    put(p, it->choices[c]);
  }
  put(p, "\nAnswer:");
  if (with_answer) {
    char a[5] = {' ', (char)('A' + it->answer), '\n', '\n', 0};
    put(p, a);
  }
}

lethe_status lethe_mmlu_prompt(const lethe_mmlu_subject *subject, size_t index, size_t k, char **out) {
  *out = NULL;
  if (index >= subject->n_test)
    return lethe_fail(LETHE_ERR_INVALID, "MMLU %s: question %zu of %zu", subject->name, index, subject->n_test);
  if (k > subject->n_dev) k = subject->n_dev;
  static const char head[] = "The following are multiple choice questions (with answers) about ";
  size_t len = sizeof head + strlen(subject->name) + 1 + 3 + example_len(&subject->test[index]);
  for (size_t i = 0; i < k; i++) len += example_len(&subject->dev[i]);
  char *buf = malloc(len + 1);
  if (!buf) return lethe_fail(LETHE_ERR_NOMEM, "MMLU prompt: out of memory");
  char *p = buf;
  put(&p, head);
  /* "about {}." with format_subject's " " before every "_"-separated word: two spaces. */
  *p++ = ' ';
  for (const char *c = subject->name; *c; c++) *p++ = *c == '_' ? ' ' : *c;
  put(&p, ".\n\n");
  for (size_t i = 0; i < k; i++) put_example(&p, &subject->dev[i], 1);
  put_example(&p, &subject->test[index], 0);
  *p = 0;
  *out = buf;
  return LETHE_OK;
}
