/* tests/eval/test_report.c: `lethe report` writes one self-contained HTML file, and a real browser
 * renders it: headless Chromium (apt chromium) loads the page, its script marks the body with the
 * number of charts it found, the DOM holds every expected element, the console shows no error, and
 * a PNG screenshot is written. Inputs: a committed small unlearning run (tests/fixtures/report). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "util/fileio.h"

static char *run_capture(const char *cmd) {
  FILE *p = popen(cmd, "r");
  if (!p) return NULL;
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  size_t r;
  while ((r = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += r;
    if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
  }
  buf[len] = 0;
  pclose(p);
  return buf;
}

static const char *find_browser(void) {
  static const char *const names[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (access(names[i], X_OK) == 0) return names[i];
  return NULL;
}

static void test_report_renders(void **state) {
  (void)state;
  char *fx = tu_src_path("tests/fixtures/report");
  char *run = lethe_path_join(fx, "npo"), *ev = lethe_path_join(fx, "npo/eval"),
       *base = lethe_path_join(fx, "eval-base"), *ga = lethe_path_join(fx, "ga"),
       *gaev = lethe_path_join(fx, "ga/eval"), *mem = lethe_path_join(fx, "memorised");
  char *dir = tu_fresh_dir("report");
  char *out = lethe_path_join(dir, "report.html"); /* the browser needs the .html extension */
  char *err;
  int rc = tu_run_lethe(NULL, NULL, &err, "report", "--run", run, "--eval", ev, "--base-eval", base, "--compare-run",
      ga, "--compare-eval", gaev, "--compare-label", "gradient ascent", "--train-run", mem, "--out", out, NULL);
  if (rc) print_error("%s", err);
  assert_int_equal(rc, 0);
  char *html;
  size_t len;
  assert_int_equal(lethe_read_file(out, 1 << 24, &html, &len), LETHE_OK);
  /* Self-contained: no external resource. */
  /* The MIA attacks and memorisation table of the evaluations that have mia_attacks.json. */
  assert_non_null(strstr(html, "<section id=\"mia-attacks\">"));
  assert_non_null(strstr(html, "<td>MIA AUC min_k_plus_plus</td><td>0.9100</td><td>0.4900</td>"));
  assert_null(strstr(html, "http://"));
  assert_null(strstr(html, "https://"));
  assert_null(strstr(html, "src="));
  const char *browser = find_browser();
  if (!browser) {
    print_error("no Chromium found: install it with scripts/install-deps.sh (apt chromium)\n");
    fail();
  }
  char *png = lethe_path_join(dir, "report.png"), *errlog = lethe_path_join(dir, "chromium.log");
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
      "timeout 120 %s --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
      "--enable-logging=stderr --v=0 "
      "--user-data-dir=%s.profile --dump-dom 'file://%s' 2>%s",
      browser, errlog, out, errlog);
  char *dom = run_capture(cmd);
  assert_non_null(dom);
  /* The page's script ran and counted its charts: scores, NPO and GA losses, memorisation. */
  assert_non_null(strstr(dom, "data-ready=\"4\""));
  const char *ids[] = {"id=\"scores-table\"", "id=\"scores-chart\"", "id=\"loss-chart\"", "id=\"compare-loss-chart\"",
      "id=\"train-chart\"", "id=\"most-forgotten\"", "id=\"least-forgotten\"", "id=\"retain-damage\"",
      "after gradient ascent", "forget regurgitation", "MIA AUC"};
  for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
    if (!strstr(dom, ids[i])) {
      print_error("rendered page lacks %s\n", ids[i]);
      fail();
    }
  }
  char *log, *line;
  size_t loglen;
  assert_int_equal(lethe_read_file(errlog, 1 << 24, &log, &loglen), LETHE_OK);
  for (line = strtok(log, "\n"); line; line = strtok(NULL, "\n"))
    if (strstr(line, "CONSOLE") || strstr(line, "Uncaught")) {
      print_error("browser console: %s\n", line);
      fail();
    }
  snprintf(cmd, sizeof cmd,
      "timeout 120 %s --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
      "--user-data-dir=%s.profile "
      "--window-size=1200,2400 --screenshot=%s 'file://%s' >/dev/null 2>&1",
      browser, errlog, png, out);
  assert_int_equal(system(cmd), 0);
  unsigned char sig[8] = {0};
  FILE *f = fopen(png, "rb");
  assert_non_null(f);
  assert_int_equal(fread(sig, 1, 8, f), 8);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fclose(f);
  assert_memory_equal(sig, "\x89PNG\r\n\x1a\n", 8);
  assert_true(size > 20000); /* a real page, not a blank one */
  print_message("rendered %s: %ld-byte PNG, no console errors\n", out, size);
  lethe_remove_tree(dir);
  free(dir);
  free(log);
  free(dom);
  free(html);
  free(png);
  free(errlog);
  free(err);
  free(out);
  free(run);
  free(ev);
  free(base);
  free(ga);
  free(gaev);
  free(mem);
  free(fx);
}

static void test_report_bad_input(void **state) {
  (void)state;
  char *err;
  assert_int_equal(tu_run_lethe(NULL, NULL, &err, "report", "--run", "/nonexistent", NULL), 1);
  assert_non_null(strstr(err, "not a directory"));
  free(err);
  char *fx = tu_src_path("tests/fixtures/report/eval-base");
  assert_int_equal(tu_run_lethe(NULL, NULL, &err, "report", "--run", fx, "--out", "/tmp/x.html", NULL), 1);
  assert_non_null(strstr(err, "no train_log.jsonl"));
  free(err);
  free(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_report_renders),
      cmocka_unit_test(test_report_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
