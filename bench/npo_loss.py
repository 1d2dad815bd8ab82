"""bench/npo_loss.py: what the PyTorch peers (peer_torch.py on the CPU, gpu_peer.py on a GPU) share:
the objective of lethe's benchmark step, NPO on the forget rows + retain NLL + gold-token KL against
the reference (DESIGN.md, "Objectives"), each a mean over answer positions; the optimizer step; the
timed loop and the loss lines in lethe's format."""
import time

import torch
import torch.nn.functional as F


def gold_logp(logits, gold):
    """log p(gold) at every position but the last: logits (B, T, V), gold (B, T - 1)."""
    return torch.log_softmax(logits[:, :-1].float(), -1).gather(-1, gold[..., None]).squeeze(-1)


def npo_terms(lp, ref, mask, forget, beta, wf, wr, wk):
    """(total, forget, retain, kl) from the policy's and the reference's gold log-probs (B, T - 1),
    the answer mask (B, T - 1) and the forget flag of each row (B)."""
    fm = mask & forget[:, None]
    rm = mask & ~forget[:, None]
    lf = (2 / beta) * F.softplus(beta * (lp[fm] - ref[fm])).mean()
    lr = -lp[rm].mean()
    lk = (torch.exp(ref[rm]) * (ref[rm] - lp[rm])).mean()
    return wf * lf + wr * lr + wk * lk, lf, lr, lk


def npo_step(opt, lp, ref, mask, forget, beta, wf, wr, wk):
    """One optimizer step on the objective; returns the four terms as floats."""
    loss, lf, lr, lk = npo_terms(lp, ref, mask, forget, beta, wf, wr, wk)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return [loss.item(), lf.item(), lr.item(), lk.item()]


def timed_steps(step, warmup, steps, sync=lambda: None):
    """Runs warmup + steps calls of step(); returns every call's terms and the seconds the timed
    ones took (sync() waits for queued device work before each clock reading)."""
    losses = []
    t0 = None
    for k in range(warmup + steps):
        if k == warmup:
            sync()
            t0 = time.perf_counter()
        losses.append(step())
    sync()
    return losses, time.perf_counter() - t0


def print_losses(losses):
    """The first steps' terms in lethe bench step's format."""
    for i, l in enumerate(losses[:8]):
        print(f"loss step={i + 1} total={l[0]:.7f} forget={l[1]:.7f} retain={l[2]:.7f} kl={l[3]:.7f}")
