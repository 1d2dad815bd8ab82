/* io/model_load.c: lethe_model_load picks the reader from what the path is: a directory is a
 * Hugging Face model, a file starting with "GGUF" is GGUF, anything else is tried as a llama2.c
 * checkpoint (whose header is checked against the file size). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/io.h"
#include "util/error.h"
#include "util/fileio.h"

int lethe_file_is_gguf(const char *path) {
  unsigned char magic[4] = {0};
  FILE *fp = fopen(path, "rb");
  size_t got = fp ? fread(magic, 1, 4, fp) : 0;
  if (fp) fclose(fp);
  return got == 4 && !memcmp(magic, "GGUF", 4);
}

lethe_status lethe_model_load(const char *path, lethe_model **out) {
  *out = NULL;
  struct stat st;
  if (!path || !*path) return lethe_fail(LETHE_ERR_INVALID, "no model path given");
  if (stat(path, &st) != 0) return lethe_fail(LETHE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  lethe_status s;
  if (S_ISDIR(st.st_mode))
    s = lethe_hf_load(path, out);
  else {
    int fd;
    LETHE_TRY(lethe_open_regular(path, &fd)); /* a FIFO or device is refused, never waited on */
    close(fd);
    s = lethe_file_is_gguf(path) ? lethe_gguf_load(path, out) : lethe_llama2c_load(path, out);
  }
  if (!s && (s = lethe_model_check_finite(*out, path))) {
    lethe_model_free(*out);
    *out = NULL;
  }
  return s;
}
