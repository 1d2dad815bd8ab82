/* cli/cmd_merge.c: `lethe merge`: W + s B A written as a complete Hugging Face model directory:
 * config.json, safetensors in the base's dtype (sharded like the base when it was sharded), the
 * tokenizer files copied, all written atomically. Several adapters (--adapter A --adapter B)
 * combine linearly or by TIES (lethe_lora_combine). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/args.h"
#include "cli/commands.h"
#include "lethe/lora.h"
#include "lethe/model.h"
#include "lethe/util.h"

/* The largest model-*.safetensors shard of a sharded base (0 when not sharded). */
static size_t base_shard_bytes(const char *dir) {
  char *idx = lethe_path_join(dir, "model.safetensors.index.json");
  int sharded = idx && lethe_file_exists(idx);
  free(idx);
  if (!sharded) return 0;
  size_t best = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 12 || strcmp(e->d_name + n - 12, ".safetensors") != 0) continue;
    char *p = lethe_path_join(dir, e->d_name);
    struct stat st;
    if (p && stat(p, &st) == 0 && (size_t)st.st_size > best) best = (size_t)st.st_size;
    free(p);
  }
  if (d) closedir(d);
  return best;
}

#define MAX_ADAPTERS 16

/* --weights "w1,w2,...": exactly n finite numbers. */
static int parse_weights(const char *text, int n, double *w) {
  const char *p = text;
  for (int i = 0; i < n; i++) {
    char *end;
    w[i] = strtod(p, &end);
    if (end == p || !isfinite(w[i])) return 0;
    p = end;
    if (i < n - 1) {
      if (*p != ',') return 0;
      p++;
    }
  }
  return *p == 0;
}

int cmd_merge(int argc, char **argv) {
  const char *model = NULL, *adapter = NULL, *out = NULL, *dtype = NULL, *weights = NULL;
  int combine = -1, as_adapter = 0, force = 0;
  double density = 1.0;
  const cli_arg defs[] = {
      {"model", ARG_STR, &model, "base model: HF directory (or llama2.c / GGUF file)", 1, 0, 0, NULL},
      {"adapter", ARG_STR, &adapter, "PEFT LoRA adapter directory (repeat it to combine several)", 1, 0, 0, NULL},
      {"out", ARG_STR, &out, "the merged HF model directory", 1, 0, 0, NULL},
      {"dtype", ARG_STR, &dtype, "weights dtype: float32, bfloat16, float16 (default: the base's)", 0, 0, 0, NULL},
      {"combine", ARG_CHOICE, &combine,
          "several adapters: linear (W += sum w_i s B A) or ties (per tensor: trim each delta to its top-density "
          "magnitudes, "
          "elect the sign by summed weighted mass, average the agreeing entries)",
          0, 0, 0, "linear|ties"},
      {"density", ARG_FLOAT, &density, "ties: fraction of each delta's entries kept (1; ZJUKLAB: 0.8)", 0, 1e-9, 1,
          NULL},
      {"weights", ARG_STR, &weights, "weights of the adapters, w1,w2,... (default: all 1)", 0, 0, 0, NULL},
      {"as-adapter", ARG_INT, &as_adapter,
          "write a rank-R PEFT adapter of the combined delta instead (truncated SVD per tensor; "
          "the approximation error is reported)",
          0, 1, 1 << 20, NULL},
      {"force", ARG_FLAG, &force,
          "replace --out even when it is not an output of this kind lethe wrote (a link itself, never its target)", 0,
          0, 0, NULL},
  };
  /* every --adapter, in order (the parser keeps the last) */
  const char *adapters[MAX_ADAPTERS];
  int na = 0;
  for (int i = 0; i < argc; i++) {
    const char *v = NULL;
    if (!strcmp(argv[i], "--adapter") && i + 1 < argc)
      v = argv[i + 1];
    else if (!strncmp(argv[i], "--adapter=", 10))
      v = argv[i] + 10;
    if (!v) continue;
    if (na == MAX_ADAPTERS) {
      fprintf(stderr, "lethe merge: at most %d adapters\n", MAX_ADAPTERS);
      return 2;
    }
    adapters[na++] = v;
  }
  int rc = cli_parse("merge",
      "Merges a LoRA adapter into the base weights (W + s B A) and writes a complete HF model directory;\n"
      "several adapters (--adapter A --adapter B) are combined --combine linear or ties.",
      argc, argv, defs, (int)(sizeof defs / sizeof *defs));
  if (rc) return rc == 1 ? 0 : rc;
  double w[MAX_ADAPTERS];
  for (int i = 0; i < na; i++) w[i] = 1.0;
  if (weights && !parse_weights(weights, na, w)) {
    fprintf(stderr, "lethe merge: option --weights: '%s' is not %d comma-separated numbers (one per --adapter)\n",
        weights, na);
    return 2;
  }
  if (combine < 0 && (na > 1 || as_adapter)) combine = LETHE_COMBINE_LINEAR;
  /* never over an input, nor over what lethe did not write (checked before the work) */
  const char *inputs[MAX_ADAPTERS + 1] = {model};
  for (int i = 0; i < na; i++) inputs[1 + i] = adapters[i];
  const char *kind = as_adapter ? "adapter" : "model";
  if (lethe_out_apart(out, "--out", inputs, 1 + na) || (!force && lethe_out_check(out, kind)))
    return cli_report("merge");
  lethe_model *m = NULL;
  lethe_lora *loras[MAX_ADAPTERS] = {0};
  int status = 1;
  if (lethe_model_load(model, &m)) {
    status = cli_report("merge");
    goto done;
  }
  for (int i = 0; i < na; i++)
    if (lethe_lora_load(adapters[i], m, &loras[i])) {
      status = cli_report("merge");
      goto done;
    }
  if (as_adapter) {
    lethe_lora *res = NULL;
    double emax = 0, eall = 0;
    if (lethe_lora_combine_to_adapter(m, (const lethe_lora *const *)loras, w, na, (lethe_combine)combine, density,
            as_adapter, &res, &emax, &eall) ||
        (force && lethe_out_clear(out)) || lethe_lora_save(res, model, out))
      status = cli_report("merge");
    else {
      printf("%s: rank-%d adapter of %d adapters (%s); relative error ||D - BA|| / ||D||: %.3g overall, %.3g worst "
             "tensor\n",
          out, as_adapter, na, combine == LETHE_COMBINE_TIES ? "ties" : "linear", eall, emax);
      status = 0;
    }
    lethe_lora_free(res);
    goto done;
  }
  if (combine >= 0 ? lethe_lora_combine(m, (const lethe_lora *const *)loras, w, na, (lethe_combine)combine, density)
                   : lethe_lora_merge(m, loras[0])) {
    status = cli_report("merge");
    goto done;
  }
  const char *dt = dtype ? dtype : lethe_model_config(m)->dtype;
  if (!strcmp(dt, "auto") || !*dt) dt = "float32";
  static const char *const names[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
      "generation_config.json", "vocab.json", "merges.txt", "tokenizer.model"};
  enum { NN = sizeof names / sizeof *names };
  char *files[NN] = {0};
  int nf = 0;
  if (lethe_is_dir(model))
    for (int i = 0; i < NN; i++) files[nf++] = lethe_path_join(model, names[i]);
  size_t shard = lethe_is_dir(model) ? base_shard_bytes(model) : 0;
  /* --force: what was there goes only once the merge itself succeeded (a link itself, never its target) */
  if ((force && lethe_out_clear(out)) || lethe_model_save_with(m, out, dt, shard, (const char *const *)files, nf))
    status = cli_report("merge");
  else {
    if (na > 1)
      printf("%s: merged %d adapters (%s) into %s (%s%s)\n", out, na, combine == LETHE_COMBINE_TIES ? "ties" : "linear",
          model, dt, shard ? ", sharded like the base" : "");
    else
      printf("%s: merged %s into %s (%s%s)\n", out, adapter, model, dt, shard ? ", sharded like the base" : "");
    status = 0;
  }
  for (int i = 0; i < nf; i++) free(files[i]);
done:
  for (int i = 0; i < na; i++) lethe_lora_free(loras[i]);
  lethe_model_free(m);
  return status;
}
