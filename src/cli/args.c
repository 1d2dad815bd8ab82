/* cli/args.c: strict parsing of --flag value / --flag=value arguments. */
#include "cli/args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/comm.h"
#include "lethe/status.h"

static void usage(FILE *fp, const char *cmd, const char *summary, const cli_arg *defs, int ndefs) {
  fprintf(fp, "usage: lethe %s [options]\n%s\n\noptions:\n", cmd, summary ? summary : "");
  for (int i = 0; i < ndefs; i++) {
    const char *meta = "";
    switch (defs[i].type) {
    case ARG_STR: meta = " VALUE"; break;
    case ARG_INT:
    case ARG_I64: meta = " N"; break;
    case ARG_FLOAT: meta = " X"; break;
    case ARG_CHOICE: meta = " CHOICE"; break;
    case ARG_FLAG: meta = ""; break;
    }
    fprintf(fp, "  --%s%s%s\n      %s", defs[i].name, meta, defs[i].required ? " (required)" : "",
        defs[i].help ? defs[i].help : "");
    if (defs[i].type == ARG_CHOICE) fprintf(fp, " [%s]", defs[i].choices);
    fputc('\n', fp);
  }
}

static int choice_index(const char *choices, const char *v) {
  int idx = 0;
  size_t vl = strlen(v);
  const char *p = choices;
  while (*p) {
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    if (n == vl && !strncmp(p, v, n)) return idx;
    idx++;
    if (!bar) break;
    p = bar + 1;
  }
  return -1;
}

int cli_parse(const char *cmd, const char *summary, int argc, char **argv, const cli_arg *defs, int ndefs) {
  char seen[256] = {0};
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout, cmd, summary, defs, ndefs);
      return 1;
    }
    if (strncmp(a, "--", 2) != 0) {
      fprintf(stderr, "lethe %s: unexpected argument '%s' (options start with --; see lethe %s --help)\n", cmd, a, cmd);
      return 2;
    }
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    int k = -1;
    for (int j = 0; j < ndefs; j++)
      if (strlen(defs[j].name) == nlen && !strncmp(defs[j].name, name, nlen)) k = j;
    if (k < 0) {
      fprintf(stderr, "lethe %s: unknown option --%.*s (see lethe %s --help)\n", cmd, (int)nlen, name, cmd);
      return 2;
    }
    const cli_arg *d = &defs[k];
    if (k < 256) seen[k] = 1;
    if (d->type == ARG_FLAG) {
      if (eq) {
        fprintf(stderr, "lethe %s: option --%s takes no value\n", cmd, d->name);
        return 2;
      }
      *(int *)d->dst = 1;
      continue;
    }
    const char *v;
    if (eq)
      v = eq + 1;
    else if (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0)
      v = argv[++i];
    else if (i + 1 < argc) {
      /* `--out --rslora` would write into ./--rslora and drop the flag: a value never starts with
       * "--" (write --out=--name for such a name) */
      fprintf(stderr,
          "lethe %s: option --%s needs a value, but the next argument is the option %s (for a value that starts "
          "with --, write --%s=VALUE)\n",
          cmd, d->name, argv[i + 1], d->name);
      return 2;
    } else {
      fprintf(stderr, "lethe %s: option --%s needs a value\n", cmd, d->name);
      return 2;
    }
    char *end = NULL;
    errno = 0;
    switch (d->type) {
    case ARG_STR:
      if (!*v) {
        fprintf(stderr, "lethe %s: option --%s needs a non-empty value\n", cmd, d->name);
        return 2;
      }
      *(const char **)d->dst = v;
      break;
    case ARG_INT:
    case ARG_I64: {
      errno = 0;
      long long x = strtoll(v, &end, 10);
      int bad = end == v || *end != 0;
      int range = !bad && (errno == ERANGE || (d->type == ARG_INT && (x < INT_MIN || x > INT_MAX)) ||
                              (d->min < d->max && (x < d->min || x > d->max)));
      if (range) {
        if (d->min < d->max)
          fprintf(stderr, "lethe %s: option --%s: %s is out of range [%.0f, %.0f]\n", cmd, d->name, v, d->min, d->max);
        else if (d->type == ARG_INT)
          fprintf(stderr, "lethe %s: option --%s: %s is out of range [%d, %d]\n", cmd, d->name, v, INT_MIN, INT_MAX);
        else
          fprintf(stderr, "lethe %s: option --%s: %s is out of range [%lld, %lld]\n", cmd, d->name, v, LLONG_MIN,
              LLONG_MAX);
        return 2;
      }
      if (bad || errno != 0) {
        fprintf(stderr, "lethe %s: option --%s: '%s' is not an integer\n", cmd, d->name, v);
        return 2;
      }
      if (d->type == ARG_INT)
        *(int *)d->dst = (int)x;
      else
        *(int64_t *)d->dst = (int64_t)x;
      break;
    }
    case ARG_FLOAT: {
      errno = 0;
      double x = strtod(v, &end);
      if (end == v || *end != 0 || (!isfinite(x) && errno != ERANGE) || isnan(x)) {
        fprintf(stderr, "lethe %s: option --%s: '%s' is not a finite number\n", cmd, d->name, v);
        return 2;
      }
      if (errno == ERANGE && fabs(x) > 1) {
        fprintf(stderr, "lethe %s: option --%s: %s is out of range (beyond a double)\n", cmd, d->name, v);
        return 2;
      }
      if (d->min < d->max && (x < d->min || x > d->max)) {
        fprintf(stderr, "lethe %s: option --%s: %s is out of range [%.15g, %.15g]\n", cmd, d->name, v, d->min, d->max);
        return 2;
      }
      *(double *)d->dst = x;
      break;
    }
    case ARG_CHOICE: {
      int idx = choice_index(d->choices, v);
      if (idx < 0) {
        fprintf(stderr, "lethe %s: option --%s: '%s' is not one of %s\n", cmd, d->name, v, d->choices);
        return 2;
      }
      *(int *)d->dst = idx;
      break;
    }
    case ARG_FLAG: break;
    }
  }
  for (int j = 0; j < ndefs && j < 256; j++) {
    if (defs[j].required && !seen[j]) {
      fprintf(stderr, "lethe %s: missing required option --%s (see lethe %s --help)\n", cmd, defs[j].name, cmd);
      return 2;
    }
  }
  return 0;
}

int cli_report(const char *cmd) {
  const char *m = lethe_last_error();
  cli_comm_before_report();
  const lethe_comm *c = cli_comm();
  if (c->size > 1)
    fprintf(stderr, "lethe %s (rank %d of %d): %s\n", cmd, c->rank, c->size, (m && *m) ? m : "failed");
  else
    fprintf(stderr, "lethe %s: %s\n", cmd, (m && *m) ? m : "failed");
  return 1;
}
