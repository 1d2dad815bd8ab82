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
  int n_people;        /* people in forget + retain (trained on) */
  int n_forget;        /* of which in the forget set */
  int n_holdout;       /* extra people never trained on: MIA non-members */
  uint64_t seed;
} lethe_bios_opts;

/* Writes DIR/forget.jsonl, DIR/retain.jsonl ({"id", "input", "output", "task", "split"}),
 * DIR/mia_members.jsonl and DIR/mia_nonmembers.jsonl ({"id", "document"}), deterministically
 * from the seed; files are written atomically. Members are the forget people's biographies. */
lethe_status lethe_bios_generate(const lethe_bios_opts *o, const char *dir);

#ifdef __cplusplus
}
#endif
#endif
