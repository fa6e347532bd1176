"""Reading and comparing two training runs' dumps (debug.dump_results_folder: losses.txt, params.bin) for checks.py and
shared.py. numpy when present (the GPU machine), else plain Python (the dry run on a machine without numpy)."""
import array
import json
import os
import struct

try:
    import numpy as np
except ImportError:  # the dry run (GPU_DRY_RUN=1) on a machine without numpy
    np = None


def losses(folder):
    return [float(x) for x in open(os.path.join(folder, "dump", "losses.txt")).read().split()]


def params(folder):
    data = open(os.path.join(folder, "dump", "params.bin"), "rb").read()
    assert data[:4] == b"STPD"
    (count,), off, out = struct.unpack_from("<i", data, 4), 8, {}
    for _ in range(count):
        (n,) = struct.unpack_from("<i", data, off); off += 4
        name = data[off:off + n].decode(); off += n
        (m,) = struct.unpack_from("<q", data, off); off += 8
        if np is not None:
            out[name] = np.frombuffer(data, "<f4", m, off)
        else:
            out[name] = array.array("f", data[off:off + 4 * m])
        off += 4 * m
    return out


def metric(folder, name):
    """A numeric field of metrics.jsonl (e.g. grad_norm), in line order."""
    path = os.path.join(folder, "metrics.jsonl")
    values = []
    for line in open(path) if os.path.exists(path) else []:
        line = line.strip()
        if line:
            v = json.loads(line).get(name)
            if isinstance(v, (int, float)):
                values.append(float(v))
    return values


def _max_rel(a, b):
    """max |a - b| / max |b| over one tensor (the feature matrix's parameter measure)."""
    if np is not None:
        return float(np.abs(a - b).max() / max(float(np.abs(b).max()), 1e-12))
    return max(abs(x - y) for x, y in zip(a, b)) / max(max(abs(y) for y in b), 1e-12)


def compare(a, b):
    """Run a against reference b: losses (absolute and relative to b's), parameters (max |diff| / max |b| per tensor)."""
    la, lb = losses(a), losses(b)
    if len(la) != len(lb):
        raise RuntimeError(f"{len(la)} losses against the reference's {len(lb)}")
    pa, pb = params(a), params(b)
    if sorted(pa) != sorted(pb):
        raise RuntimeError(f"parameter names differ: {sorted(set(pa) ^ set(pb))[:6]}")
    rel = max(_max_rel(pa[k], pb[k]) for k in pb)
    return {"loss_max_abs_diff": max(abs(x - y) for x, y in zip(la, lb)),
            "loss_max_rel_diff": max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(la, lb)),
            "param_max_rel_diff": rel, "losses_a": la, "losses_b": lb}


def compare_grad_norms(a, b):
    ga, gb = metric(a, "grad_norm"), metric(b, "grad_norm")
    if not ga or len(ga) != len(gb):
        return {"grad_norm_max_rel_diff": None}
    return {"grad_norm_max_rel_diff": max(abs(x - y) / max(abs(y), 1e-12) for x, y in zip(ga, gb))}
