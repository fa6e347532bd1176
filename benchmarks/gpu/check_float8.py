"""Replays SharpTitan's float8 test vectors (benchmarks `float8-vectors`) on a GPU with float8 units.

Checks, for each shape:
  * quantization: the GPU's cast of x, w (e4m3) and g (e5m2) with SharpTitan's scales gives the same bytes;
  * tensorwise: torch._scaled_mm on the GPU against SharpTitan's emulation and libtorch-CPU _scaled_mm (fp32 out);
  * rowwise: torch._scaled_mm with per-row scales (bf16 out) against SharpTitan's bf16 emulation.
Then times an 8192^3 float8 tensorwise _scaled_mm against a bf16 matmul on the same GPU, for scale.
Usage: python3 check_float8.py VECTORS_DIR OUT_JSON
"""
import json
import sys
import time

import numpy as np
import torch

MAX = {"e4m3": 448.0, "e5m2": 57344.0}
DTYPE = {"e4m3": torch.float8_e4m3fn, "e5m2": torch.float8_e5m2}


def main(vectors, out_path):
    manifest = json.load(open(f"{vectors}/manifest.json"))
    dev = torch.device("cuda")

    def load(name):
        entry = manifest[name]
        raw = np.fromfile(f"{vectors}/{name}.bin", dtype=np.float32 if entry["dtype"] == "f32" else np.uint8)
        t = torch.from_numpy(raw.reshape(entry["shape"])).to(dev)
        return t if entry["dtype"] == "f32" else t.view(DTYPE[entry["dtype"]])

    def rel(a, b):
        a, b = a.float(), b.float()
        return ((a - b).abs().max() / b.abs().max()).item()

    results = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "shapes": []}
    prefixes = sorted({k.split("_")[0] for k in manifest})
    for p in prefixes:
        r = {"shape": p}
        x, w, g = load(p + "_x"), load(p + "_w"), load(p + "_g")
        # quantization bytes: the GPU's saturating cast with our scale
        for src, q, fmt in ((x, "tw_x8", "e4m3"), (w, "tw_w8", "e4m3"), (g, "tw_g8", "e5m2"), (x, "rw_x8", "e4m3"), (w, "rw_w8", "e4m3")):
            ours = load(f"{p}_{q}")
            scale = load(f"{p}_{q}_scale")
            gpu = (src * scale).clamp(-MAX[fmt], MAX[fmt]).to(DTYPE[fmt])
            r[f"{q}_bytes_differing"] = int((gpu.view(torch.uint8) != ours.view(torch.uint8)).sum().item())
            r[f"{q}_elements"] = ours.numel()
        # tensorwise scaled matmul (fp32 out): dequantization scales are reciprocals of ours
        x8, w8 = load(p + "_tw_x8"), load(p + "_tw_w8")
        sx, sw = load(p + "_tw_x8_scale").reciprocal(), load(p + "_tw_w8_scale").reciprocal()
        y_gpu = torch._scaled_mm(x8, w8.t(), scale_a=sx, scale_b=sw, out_dtype=torch.float32)
        r["tw_gpu_vs_our_emulation_max_rel"] = rel(y_gpu, load(p + "_tw_y_emulated"))
        r["tw_gpu_vs_libtorch_cpu_max_rel"] = rel(y_gpu, load(p + "_tw_y_cpu_scaled_mm"))
        r["tw_gpu_vs_fp32_linear_max_rel"] = rel(y_gpu, x @ w.t())
        # rowwise scaled matmul (bf16 out, [M,1] and [1,N] scales)
        xr, wr = load(p + "_rw_x8"), load(p + "_rw_w8")
        sxr, swr = load(p + "_rw_x8_scale").reciprocal(), load(p + "_rw_w8_scale").reciprocal().t()
        y_row = torch._scaled_mm(xr, wr.t(), scale_a=sxr.contiguous(), scale_b=swr.contiguous(), out_dtype=torch.bfloat16)
        r["rw_gpu_vs_our_emulation_max_rel"] = rel(y_row, load(p + "_rw_y_emulated_bf16"))
        r["rw_gpu_vs_fp32_linear_max_rel"] = rel(y_row, x @ w.t())
        results["shapes"].append(r)
        print(json.dumps(r), flush=True)

    # speed of the device's float8 units, for scale (PyTorch's kernels, not SharpTitan's)
    n = 8192
    a = torch.randn(n, n, device=dev).to(torch.bfloat16)
    b = torch.randn(n, n, device=dev).to(torch.bfloat16)
    a8, b8 = a.to(torch.float8_e4m3fn), b.to(torch.float8_e4m3fn).t().contiguous().t()
    one = torch.tensor(1.0, device=dev)

    def bench(f):
        for _ in range(3):
            f()
        torch.cuda.synchronize()
        times = []
        for _ in range(10):
            t = time.perf_counter()
            f()
            torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
        return float(np.median(times))

    t_bf16 = bench(lambda: a @ b)
    t_fp8 = bench(lambda: torch._scaled_mm(a8, b8, scale_a=one, scale_b=one, out_dtype=torch.bfloat16))
    results["matmul_8192"] = {"bf16_tflops": 2 * n**3 / t_bf16 / 1e12, "float8_tflops": 2 * n**3 / t_fp8 / 1e12,
                              "float8_over_bf16": t_bf16 / t_fp8}
    print(json.dumps(results["matmul_8192"]), flush=True)
    json.dump(results, open(out_path, "w"), indent=2)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
