/* lethe/status.h: errors are values. Every fallible library call returns a lethe_status and, on
 * failure, leaves one human-readable message (file, place, problem) for lethe_last_error(). */
#ifndef LETHE_STATUS_H
#define LETHE_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  LETHE_OK = 0,
  LETHE_ERR_IO,          /* a file could not be opened, read, written or renamed */
  LETHE_ERR_FORMAT,      /* a file's contents are malformed (JSON, safetensors, GGUF, ...) */
  LETHE_ERR_INVALID,     /* a bad argument, flag or configuration value */
  LETHE_ERR_UNSUPPORTED, /* well-formed but not supported (model type, dtype, component) */
  LETHE_ERR_NOMEM,       /* an allocation failed */
  LETHE_ERR_NUMERIC,     /* a NaN or Inf appeared where it must not */
  LETHE_ERR_INTERRUPTED, /* the run was asked to stop */
  LETHE_ERR_DEVICE       /* the compute backend failed */
} lethe_status;

/* Short name of a status code ("format error", ...). */
const char *lethe_status_name(lethe_status s);

/* The message of the last failure on this thread ("" when there is none). */
const char *lethe_last_error(void);

/* Clear this thread's message. */
void lethe_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
