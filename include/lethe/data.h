/* lethe/data.h: data lethe makes itself. Synthetic biographies with personal data in the style of
 * SemEval-2025 Task 4's subtask 2 (name, birth date, Social Security number, phone, email, home
 * address, occupation): one sentence-completion row and five question-answer rows per person, as
 * LUME-format JSONL forget / retain sets plus MIA member / non-member documents. */
#ifndef LETHE_DATA_PUBLIC_H
#define LETHE_DATA_PUBLIC_H

#include <stdint.h>

#include "lethe/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int n_people;  /* people in forget + retain (trained on) */
  int n_forget;  /* of which in the forget set */
  int n_holdout; /* extra people never trained on: MIA non-members */
  uint64_t seed;
} lethe_bios_opts;

/* Writes DIR/forget.jsonl, DIR/retain.jsonl ({"id", "input", "output", "task", "split"}),
 * DIR/mia_members.jsonl and DIR/mia_nonmembers.jsonl ({"id", "document"}), deterministically
 * from the seed; files are written atomically. Members are the forget people's biographies. */
lethe_status lethe_bios_generate(const lethe_bios_opts *o, const char *dir);

/* The task's files in one directory (`--data-dir`), for split "train" or "validation": forget and
 * retain rows from the first of {name}_{split}-*.parquet (Hugging Face's shard names),
 * {name}_{split}.parquet, {name}_{split}.jsonl and (train only) {name}.parquet, {name}.jsonl;
 * MIA documents from mia/[validation/]{member,nonmember}.{parquet,jsonl},
 * mia_{member,nonmember}[_validation]-*.parquet, ... Missing files are NULL (MIA: both or
 * neither; rows: at least one). Several shards of one set are an error. */
typedef struct {
  char *forget, *retain, *mia_members, *mia_nonmembers;
} lethe_data_files;
lethe_status lethe_data_dir_find(const char *dir, const char *split, lethe_data_files *out);
void lethe_data_files_free(lethe_data_files *f);

#ifdef __cplusplus
}
#endif
#endif
