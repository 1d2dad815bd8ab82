"""bench/npo_loss.py: the objective of lethe's benchmark step, shared by the PyTorch peers
(peer_torch.py on the CPU, gpu_peer.py on a GPU): NPO on the forget rows + retain NLL + gold-token
KL against the reference (DESIGN.md, "Objectives"), each a mean over answer positions."""
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
