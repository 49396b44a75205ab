"""The models of fl-worker's registry (models/src/registry.cc) as torch.nn.Modules.

Every module has the same parameter names, shapes and forward computation as its C++
twin, so a checkpoint's tensors load into it with ``load_state_dict(strict=True)`` and it
gives the same outputs (to float32 rounding) as ``fl-worker predict``.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F


def groups(channels):
    """GroupNorm groups for `channels`: up to 8, and always a divisor of the channel count."""
    return channels if channels <= 8 else math.gcd(8, channels)


class LogReg(nn.Module):
    """Logistic regression: one linear layer on the flattened input."""

    def __init__(self, in_features, classes):
        super().__init__()
        self.fc = nn.Linear(in_features, classes)

    def forward(self, x):
        return self.fc(x.flatten(1))


class Mlp(nn.Module):
    """ReLU layers fc1..fcN, dropout, and the output layer `out`."""

    def __init__(self, in_features, hidden, classes, dropout=0.0):
        super().__init__()
        width = in_features
        self.hidden = []
        for i, h in enumerate(hidden):
            layer = nn.Linear(width, h)
            setattr(self, f"fc{i + 1}", layer)  # registration order = the C++ order
            self.hidden.append(layer)
            width = h
        self.out = nn.Linear(width, classes)
        self.dropout = dropout

    def forward(self, x):
        x = x.flatten(1)
        for layer in self.hidden:
            x = F.relu(layer(x))
        x = F.dropout(x, self.dropout, self.training)
        return self.out(x)


class SmallCnn(nn.Module):
    """Three 3x3 conv + GroupNorm + ReLU blocks (max-pool after the first two), global
    average pooling, a hidden linear layer and the output layer."""

    def __init__(self, in_channels, classes, c, dropout=0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, c, 3, padding=1)
        self.norm1 = nn.GroupNorm(groups(c), c)
        self.conv2 = nn.Conv2d(c, 2 * c, 3, padding=1)
        self.norm2 = nn.GroupNorm(groups(2 * c), 2 * c)
        self.conv3 = nn.Conv2d(2 * c, 4 * c, 3, padding=1)
        self.norm3 = nn.GroupNorm(groups(4 * c), 4 * c)
        self.fc = nn.Linear(4 * c, 4 * c)
        self.out = nn.Linear(4 * c, classes)
        self.dropout = dropout

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.norm1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.norm2(self.conv2(x))), 2)
        x = F.relu(self.norm3(self.conv3(x)))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        x = F.relu(self.fc(x))
        x = F.dropout(x, self.dropout, self.training)
        return self.out(x)


class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm1 = nn.GroupNorm(groups(out_channels), out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = nn.GroupNorm(groups(out_channels), out_channels)
        self.skip = None
        if stride != 1 or in_channels != out_channels:
            self.skip = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
            self.skip_norm = nn.GroupNorm(groups(out_channels), out_channels)

    def forward(self, x):
        y = F.relu(self.norm1(self.conv1(x)))
        y = self.norm2(self.conv2(y))
        s = self.skip_norm(self.skip(x)) if self.skip is not None else x
        return F.relu(y + s)


class ResNet(nn.Module):
    """A 3x3 stem and three stages of two basic blocks (c, 2c, 4c channels; the last two
    stages halve the resolution), global average pooling and a linear layer."""

    def __init__(self, in_channels, classes, c, dropout=0.0):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, c, 3, padding=1, bias=False)
        self.stem_norm = nn.GroupNorm(groups(c), c)
        blocks, width = [], c
        for s, out in enumerate((c, 2 * c, 4 * c)):
            for b in range(2):
                blocks.append(BasicBlock(width, out, 2 if s > 0 and b == 0 else 1))
                width = out
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(width, classes)
        self.dropout = dropout

    def forward(self, x):
        x = F.relu(self.stem_norm(self.stem(x)))
        x = self.blocks(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        x = F.dropout(x, self.dropout, self.training)
        return self.fc(x)


class DoubleConv(nn.Module):
    def __init__(self, in_channels, out_channels, three_d):
        super().__init__()
        conv = nn.Conv3d if three_d else nn.Conv2d
        self.seq = nn.Sequential(
            conv(in_channels, out_channels, 3, padding=1, bias=False),
            nn.GroupNorm(groups(out_channels), out_channels), nn.ReLU(),
            conv(out_channels, out_channels, 3, padding=1, bias=False),
            nn.GroupNorm(groups(out_channels), out_channels), nn.ReLU())

    def forward(self, x):
        return self.seq(x)


class UNet(nn.Module):
    """U-Net of `depth` levels (c, 2c, 4c, ... channels), 2-D or 3-D, giving per-pixel
    (per-voxel) logits [B, K, H, W] ([B, K, D, H, W]). Inputs of any size are zero-padded
    at the end of every spatial axis to a multiple of 2^(depth-1), the logits cropped back."""

    def __init__(self, in_channels, classes, c, depth, dropout=0.0, three_d=False):
        super().__init__()
        self.depth, self.dropout, self.three_d = depth, dropout, three_d
        self.down = nn.ModuleList()
        width = in_channels
        for level in range(depth):
            self.down.append(DoubleConv(width, c << level, three_d))
            width = c << level
        up = nn.ConvTranspose3d if three_d else nn.ConvTranspose2d
        self.up, self.merge = nn.ModuleList(), nn.ModuleList()
        for level in range(depth - 2, -1, -1):
            out = c << level
            self.up.append(up(width, out, 2, stride=2))
            self.merge.append(DoubleConv(2 * out, out, three_d))
            width = out
        self.head = (nn.Conv3d if three_d else nn.Conv2d)(width, classes, 1)

    def forward(self, x):
        m = 1 << (self.depth - 1)
        sizes = list(x.shape[2:])
        pad = []
        for n in reversed(sizes):  # F.pad lists the last axis first
            pad += [0, (m - n % m) % m]
        padded = any(pad)
        if padded:
            x = F.pad(x, pad)
        pool = F.max_pool3d if self.three_d else F.max_pool2d
        skips = []
        for level, block in enumerate(self.down):
            if level > 0:
                x = pool(x, 2)
            x = block(x)
            if level < self.depth - 1:
                skips.append(x)
        x = F.dropout(x, self.dropout, self.training)
        for i, (up, merge) in enumerate(zip(self.up, self.merge)):
            x = merge(torch.cat([up(x), skips[len(skips) - 1 - i]], 1))
        x = self.head(x)
        if padded:
            for axis, n in enumerate(sizes):
                x = x.narrow(axis + 2, 0, n)
        return x


MODEL_NAMES = ("logreg", "mlp", "cnn", "resnet", "unet")
SEGMENTATION_MODELS = ("unet",)


class GaussianEncoder(nn.Module):
    """A diagonal Gaussian over the latent z (decoupled prediction's prior and posterior):
    three 3x3 conv + GroupNorm + LeakyReLU blocks (c, 2c, 4c channels, 2x average pooling
    between them), global average pooling and a linear layer to (mean, log std)."""

    def __init__(self, in_channels, c, latent):
        super().__init__()
        layers, width = [], in_channels
        for level in range(3):
            out = c << level
            if level > 0:
                layers.append(nn.AvgPool2d(2, ceil_mode=True))
            layers += [nn.Conv2d(width, out, 3, padding=1), nn.GroupNorm(groups(out), out), nn.LeakyReLU(0.1)]
            width = out
        self.blocks = nn.Sequential(*layers)
        self.out = nn.Linear(width, 2 * latent)
        self.latent = latent

    def forward(self, x):
        o = self.out(F.adaptive_avg_pool2d(self.blocks(x), 1).flatten(1))
        return o[:, :self.latent], o[:, self.latent:].clamp(-8.0, 4.0)


def _pixel_mlp(in_channels, out_channels):
    return nn.Sequential(nn.Conv2d(in_channels, in_channels, 1), nn.LeakyReLU(0.1),
                         nn.Conv2d(in_channels, in_channels, 1), nn.LeakyReLU(0.1),
                         nn.Conv2d(in_channels, out_channels, 1))


class DecoupledUNet(nn.Module):
    """Decoupled prediction (models/include/fl/models/decoupled.h): the generic prediction
    from the shared U-Net features and the prior's mean z; with `local_prediction` the
    centre's local prediction, its adaptation matrices applied to the generic one, as
    log-probabilities."""

    def __init__(self, in_channels, classes, c, depth, latent, dropout=0.0, local_prediction=True):
        super().__init__()
        self.unet = UNet(in_channels, c, c, depth, dropout)
        self.comb = _pixel_mlp(c + latent, classes)
        self.prior = GaussianEncoder(in_channels, c, latent)
        self.posterior = GaussianEncoder(in_channels + classes - 1, c, latent)
        self.dan = _pixel_mlp(c + latent, classes * classes)
        self.classes = classes
        self.local_prediction = local_prediction

    def forward(self, x):
        features = self.unet(x)
        mu = self.prior(x)[0]
        z = mu[:, :, None, None].expand(-1, -1, features.shape[2], features.shape[3])
        joined = torch.cat([features, z], 1)
        logits = self.comb(joined)
        if not self.local_prediction:
            return logits
        raw = F.softplus(self.dan(joined))
        w = raw.view(raw.shape[0], self.classes, self.classes, raw.shape[2], raw.shape[3])
        w = w / w.sum(2, keepdim=True)
        local = (torch.softmax(logits, 1).unsqueeze(2) * w).sum(1)
        return local.clamp_min(1e-7).log()
