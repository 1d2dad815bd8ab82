/* tests/unlearn/killshim.c: an LD_PRELOAD shim for the kill-point test. It counts the calls of
 * rename() and fsync() (every point where lethe publishes or makes durable an output) and, when
 * LETHE_KILL_AT=k, kills the process with SIGKILL just before the k-th one. At exit it writes the
 * count to LETHE_KILL_COUNT_FILE when set, so that a test can enumerate every point. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static long g_count, g_kill_at = -2;

static void point(void) {
  if (g_kill_at == -2) {
    const char *k = getenv("LETHE_KILL_AT");
    g_kill_at = k ? atol(k) : -1;
  }
  if (++g_count == g_kill_at) raise(SIGKILL);
}

int rename(const char *from, const char *to) {
  static int (*real)(const char *, const char *);
  if (!real) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
  point();
  return real(from, to);
}

int fsync(int fd) {
  static int (*real)(int);
  if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  point();
  return real(fd);
}

__attribute__((destructor)) static void report_count(void) {
  const char *p = getenv("LETHE_KILL_COUNT_FILE");
  if (!p) return;
  FILE *fp = fopen(p, "w");
  if (!fp) return;
  fprintf(fp, "%ld\n", g_count);
  fclose(fp);
}
