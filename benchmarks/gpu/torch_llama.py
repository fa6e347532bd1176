"""PyTorch reference for benchmarks/gpu/run.sh: a plain eager Llama 3 of ours with SharpTitan's shapes, init, AdamW
and bf16 mixed precision (autocast over fp32 parameters), optionally under torch.compile (the upper reference).

Usage: python3 torch_llama.py '{"dim":4096,"n_layers":8,"n_heads":32,"n_kv_heads":8,"multiple_of":1024,
        "ffn_dim_multiplier":1.3,"vocab":100277,"seq_len":8192,"ac":"none","compile":false,"steps":5,"warmup":2}'
Prints one JSON line: median tokens/s (device synchronized), step seconds, peak reserved memory, parameters.
"""
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint


def ffn_hidden(dim, multiple_of, multiplier):
    hidden = int(2 * (4 * dim) / 3)
    if multiplier is not None:
        hidden = int(multiplier * hidden)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


def rope_tables(head_dim, seq_len, theta, device):
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=device).float() / head_dim))
    angles = torch.outer(torch.arange(seq_len, device=device).float(), freqs)
    return angles.cos(), angles.sin()


def apply_rope(x, cos, sin):
    # x [b, s, h, d] with interleaved pairs, as Llama's complex rotation
    x1, x2 = x.float().unflatten(-1, (-1, 2)).unbind(-1)
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    return torch.stack((x1 * c - x2 * s, x1 * s + x2 * c), dim=-1).flatten(-2).type_as(x)


class Block(nn.Module):
    def __init__(self, a, layer_id):
        super().__init__()
        self.h, self.kv, self.d = a["n_heads"], a["n_kv_heads"], a["dim"] // a["n_heads"]
        dim = a["dim"]
        self.wq = nn.Linear(dim, self.h * self.d, bias=False)
        self.wk = nn.Linear(dim, self.kv * self.d, bias=False)
        self.wv = nn.Linear(dim, self.kv * self.d, bias=False)
        self.wo = nn.Linear(self.h * self.d, dim, bias=False)
        hidden = ffn_hidden(dim, a["multiple_of"], a.get("ffn_dim_multiplier"))
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)
        self.attention_norm = nn.RMSNorm(dim, eps=1e-5)
        self.ffn_norm = nn.RMSNorm(dim, eps=1e-5)
        std = 0.02 / math.sqrt(2 * (layer_id + 1))  # torchtitan's depth init
        for w in (self.wq, self.wk, self.wv, self.w1):
            nn.init.trunc_normal_(w.weight, std=0.02)
        for w in (self.wo, self.w2, self.w3):
            nn.init.trunc_normal_(w.weight, std=std)

    def forward(self, x, cos, sin):
        b, s, _ = x.shape
        h = self.attention_norm(x)
        q = apply_rope(self.wq(h).view(b, s, self.h, self.d), cos, sin)
        k = apply_rope(self.wk(h).view(b, s, self.kv, self.d), cos, sin)
        v = self.wv(h).view(b, s, self.kv, self.d)
        rep = self.h // self.kv
        k = k.unsqueeze(3).expand(b, s, self.kv, rep, self.d).reshape(b, s, self.h, self.d)
        v = v.unsqueeze(3).expand(b, s, self.kv, rep, self.d).reshape(b, s, self.h, self.d)
        o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True)
        x = x + self.wo(o.transpose(1, 2).reshape(b, s, -1))
        h = self.ffn_norm(x)
        return x + self.w2(F.silu(self.w1(h)) * self.w3(h))


class Llama(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        self.tok_embeddings = nn.Embedding(a["vocab"], a["dim"])
        self.layers = nn.ModuleList(Block(a, i) for i in range(a["n_layers"]))
        self.norm = nn.RMSNorm(a["dim"], eps=1e-5)
        self.output = nn.Linear(a["dim"], a["vocab"], bias=False)
        nn.init.normal_(self.tok_embeddings.weight)
        if a.get("tie_embeddings"):  # Llama 3.2 1B / 3B share the embedding with the output, as SharpTitan's flavors
            self.output.weight = self.tok_embeddings.weight
        else:
            bound = a["dim"] ** -0.5
            nn.init.trunc_normal_(self.output.weight, std=bound, a=-3 * bound, b=3 * bound)

    def forward(self, tokens, cos, sin):
        x = self.tok_embeddings(tokens)
        for i, layer in enumerate(self.layers):
            ac = self.a["ac"]
            if ac == "full" or (ac == "selective" and i % 2 == 0):  # torchtitan's selective layer option "2"
                x = checkpoint(layer, x, cos, sin, use_reentrant=False)
            else:
                x = layer(x, cos, sin)
        return self.output(self.norm(x))


def main():
    a = json.loads(sys.argv[1])
    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = Llama(a).to(dev)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=8e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    cos, sin = rope_tables(a["dim"] // a["n_heads"], a["seq_len"], 500000.0, dev)
    step_fn = model
    if a.get("compile"):
        step_fn = torch.compile(model)
    seq = a["seq_len"]
    times, losses = [], []
    for step in range(a["warmup"] + a["steps"]):
        tokens = torch.randint(0, a["vocab"], (1, seq + 1), device=dev)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = step_fn(tokens[:, :-1], cos, sin)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), tokens[:, 1:].flatten())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        torch.cuda.synchronize()
        if step >= a["warmup"]:
            times.append(time.perf_counter() - t0)
    # one more step with the device synchronized between its phases: where the step's time goes
    phases = {}
    tokens = torch.randint(0, a["vocab"], (1, seq + 1), device=dev)

    def timed(name, fn):
        torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        phases[name] = time.perf_counter() - t

    def fwd_bwd():
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = step_fn(tokens[:, :-1], cos, sin)
        F.cross_entropy(logits.flatten(0, 1).float(), tokens[:, 1:].flatten()).backward()

    timed("zero_grad", lambda: opt.zero_grad(set_to_none=True))
    timed("forward_backward", fwd_bwd)
    timed("clip_grad_norm", lambda: torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0))
    timed("optimizer", opt.step)
    median = statistics.median(times)
    print(json.dumps({"case": a, "parameters": params, "median_tokens_per_second": seq / median,
                      "median_step_seconds": median, "peak_reserved_gib": torch.cuda.max_memory_reserved() / 2**30,
                      "losses": losses, "phase_seconds": phases, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
