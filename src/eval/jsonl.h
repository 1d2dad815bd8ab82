/* eval/jsonl.h: the JSONL reader moved to util/jsonl.h (data/ reads rows with it, and data/ sits
 * below eval/). This forwarder keeps eval/ files that still include the old name building while
 * other branches land; TODO: include util/jsonl.h in them and delete this file. */
#ifndef LETHE_EVAL_JSONL_H
#define LETHE_EVAL_JSONL_H

#include "util/jsonl.h"

#endif
