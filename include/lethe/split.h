/* lethe/split.h: the vocabulary data/ and eval/ share (data/ sits below eval/, so it lives here
 * rather than in lethe/eval.h): which split a row belongs to, and which metric its id selects. */
#ifndef LETHE_SPLIT_H
#define LETHE_SPLIT_H

/* Which metric a row gets: regurgitation (ROUGE-L) for "sc" ids, knowledge (exact match) for "qa"
 * ids, neither for the rest (lethe_eval_row_kind in lethe/eval.h decides). */
typedef enum { LETHE_ROW_OTHER = 0, LETHE_ROW_SC = 1, LETHE_ROW_QA = 2 } lethe_row_kind;

/* The two sets of the task: the rows to forget and the rows to keep. */
typedef enum { LETHE_SPLIT_FORGET = 0, LETHE_SPLIT_RETAIN = 1 } lethe_split;
#define LETHE_SPLIT_COUNT 2

#endif
