/* model/layout.h: what the parameter files share (params.c owns it): the tensor table of a config
 * (HF names, shapes, places in the host layout), binding the layer pointers to the backend copy,
 * and which tensors are block projections (what bf16 storage applies to). */
#ifndef LETHE_MODEL_LAYOUT_H
#define LETHE_MODEL_LAYOUT_H

#include "model/model.h"

typedef struct {
  lethe_tensor *t; /* (n) */
  int n;
  size_t cap; /* grown by util/array.h */
  size_t off; /* floats so far: the parameter count once built */
} lethe_tensor_table;

/* The tensor table of a (validated) config, in HF names and the host layout; nonzero when out of
 * memory. */
int lethe_tensor_table_build(const lethe_config *c, lethe_tensor_table *out);
/* Points the per-layer weight pointers into the compute copy of the parameters. */
void lethe_model_bind(lethe_model *m);
/* The block projections: what bf16 storage applies to. */
int lethe_tensor_is_projection(const char *name);

#endif
