#!/usr/bin/env python3
"""PyTorch peer of the reference step (configs/bench/hourglass-ref.yaml), for bench/step.ts.

The same architecture as src/models/hourglass.ts + builder.ts: a binary HourGlass (C=128,
depth 3, one stack, HPM blocks, PReLU after each binary conv, "post" placement BN -> sign -> conv
-> act, weights sign(W) * mean|W| per output filter, straight-through sign gradients clipped to
|x| <= 1), stem conv and 1x1 convs real, batch 8 of 64x64 images, 16 heatmaps of 16x16, MSE loss,
RMSprop. Prints one JSON line: {"threads", "steps", "times_ms", "median_ms", "median_cpu_ms",
"peak_rss_mb", "torch"}. Timing only: nothing here is compared for accuracy.

    python3 bench/torch-step.py [--threads 1] [--steps 10] [--warmup 3]
"""
import argparse
import json
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class BinaryConv(nn.Conv2d):
    """conv(sign(x), alpha * sign(W)), alpha = mean |W| per output filter; 'same' padding."""

    def forward(self, x):
        alpha = self.weight.abs().mean(dim=(1, 2, 3), keepdim=True)
        w = SignSTE.apply(self.weight) * alpha
        return F.conv2d(SignSTE.apply(x), w, None, self.stride, self.padding)


class ConvUnit(nn.Module):
    """BN -> (sign inside the conv) -> binary conv 3x3 -> PReLU."""

    def __init__(self, cin, cout):
        super().__init__()
        self.bn = nn.BatchNorm2d(cin)
        self.conv = BinaryConv(cin, cout, 3, padding=1, bias=False)
        self.act = nn.PReLU(cout)

    def forward(self, x):
        return self.act(self.conv(self.bn(x)))


class HPM(nn.Module):
    def __init__(self, cin, c):
        super().__init__()
        c1, c2 = c // 2, c // 4
        c3 = c - c1 - c2
        self.u1, self.u2, self.u3 = ConvUnit(cin, c1), ConvUnit(c1, c2), ConvUnit(c2, c3)
        self.proj = None
        if cin != c:
            self.proj = nn.Sequential(nn.BatchNorm2d(cin), nn.PReLU(cin), nn.Conv2d(cin, c, 1, bias=False))

    def forward(self, x):
        o1 = self.u1(x)
        o2 = self.u2(o1)
        o3 = self.u3(o2)
        return torch.cat([o1, o2, o3], 1) + (x if self.proj is None else self.proj(x))


class HourGlass(nn.Module):
    def __init__(self, depth, c):
        super().__init__()
        self.up, self.low1, self.low3 = HPM(c, c), HPM(c, c), HPM(c, c)
        self.low2 = HourGlass(depth - 1, c) if depth > 1 else HPM(c, c)

    def forward(self, x):
        low = self.low3(self.low2(self.low1(F.max_pool2d(x, 2, 2))))
        return self.up(x) + F.interpolate(low, scale_factor=2, mode="nearest")


class Net(nn.Module):
    def __init__(self, c=128, depth=3, joints=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, c // 2, 7, 2, 3), nn.BatchNorm2d(c // 2), nn.PReLU(c // 2))
        self.b1, self.b2, self.b3 = HPM(c // 2, c), HPM(c, c), HPM(c, c)
        self.hg = HourGlass(depth, c)
        self.out = HPM(c, c)
        self.lin = nn.Sequential(nn.Conv2d(c, c, 1), nn.BatchNorm2d(c), nn.PReLU(c))
        self.heat = nn.Conv2d(c, joints, 1)

    def forward(self, x):
        x = self.b1(self.stem(x))
        x = self.b3(self.b2(F.max_pool2d(x, 2, 2)))
        return self.heat(self.lin(self.out(self.hg(x))))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = Net()
    opt = torch.optim.RMSprop(net.parameters(), lr=1e-3)
    x = torch.randn(8, 3, 64, 64)
    target = torch.rand(8, 16, 16, 16)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.mse_loss(net(x), target)
        loss.backward()
        opt.step()

    for _ in range(a.warmup):
        step()
    times, cpu = [], []
    for _ in range(a.steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    print(json.dumps({
        "threads": a.threads, "steps": a.steps, "times_ms": times,
        "median_ms": statistics.median(times), "median_cpu_ms": statistics.median(cpu),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
