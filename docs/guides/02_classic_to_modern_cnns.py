# %% [markdown]
# # 2. Classic to modern CNNs: LeNet-5 → VGG → ResNet → Inception → MobileNet → EfficientNet
#
# Course notes: the CNN-architecture weeks of the DeepLearning.AI review (`001_…`: LeNet-5,
# AlexNet, VGG, ResNet, 1x1 convolutions and Inception, MobileNet v1/v2, EfficientNet) and the
# IBM course (`003_…`). The notes compare the networks by parameters and by computation; here
# every figure is computed from the built Keras models with `kerasdl.analysis`.
#
# `KERASDL_GUIDE_SMOKE=1` builds only the small networks, at a small input size.

# %%
import os

import kerasdl  # noqa: F401
from kerasdl import analysis, models

SMOKE = os.environ.get("KERASDL_GUIDE_SMOKE") == "1"

# %% [markdown]
# ## Parameters and multiply-accumulates per image
#
# Each builder mirrors its paper (and, where Keras has one, `keras.applications`: same layer
# names and parameter counts). MACs are counted per layer from the output shapes, as in
# the quizzes: a conv costs $H_{out} W_{out} C_{out} k^2 C_{in}$.

# %%
if SMOKE:
    zoo = {
        "LeNet-5 (32x32x1)": lambda: models.lenet5(),
        "MobileNet a=0.25 (96x96x3)": lambda: models.mobilenet(input_shape=(96, 96, 3), alpha=0.25),
    }
else:
    zoo = {
        "LeNet-5 (32x32x1)": lambda: models.lenet5(),
        "AlexNet (227x227x3)": lambda: models.alexnet(),
        "VGG-16": lambda: models.vgg16(),
        "ResNet-50": lambda: models.resnet50(),
        "GoogLeNet (Inception v1)": lambda: models.googlenet(),
        "MobileNet": lambda: models.mobilenet(),
        "MobileNetV2": lambda: models.mobilenet_v2(),
        "EfficientNet-B0": lambda: models.efficientnet_b0(),
    }
rows = []
for name, build in zoo.items():
    model = build()
    rows.append((name, model.count_params(), analysis.total_macs(model), len(model.layers)))
print(f"{'network':28s} {'parameters':>12s} {'MACs / image':>15s} {'layers':>7s}")
for name, params, macs, layers in rows:
    print(f"{name:28s} {params:12,d} {macs:15,d} {layers:7d}")

# %%
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(6, 4))
for name, params, macs, _ in rows:
    ax.scatter(macs / 1e6, params / 1e6)
    ax.annotate(name.split(" (")[0], (macs / 1e6, params / 1e6), fontsize=8)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("million MACs per image")
ax.set_ylabel("million parameters")
ax.set_title("cost of the classic and modern CNNs")

# %% [markdown]
# VGG-16's 138 M parameters sit mostly in its three dense layers; ResNet-50 has a fifth of them
# and costs a quarter of VGG's computation. MobileNet buys the last factor with depthwise-separable
# convolutions.
#
# ## Why depthwise-separable convolutions are cheap
#
# A 3x3 conv from 32 to 64 channels on a 112x112 map, standard vs depthwise + pointwise. The cost
# ratio is $1/C_{out} + 1/k^2$ (Howard et al. 2017):

# %%
standard = analysis.conv_macs(112, 112, 32, 64, 3)
separable = analysis.depthwise_separable_macs(112, 112, 32, 64, 3)
print(f"standard conv:  {standard:,d} MACs")
print(
    f"separable conv: {separable.total:,d} MACs (depthwise {separable.depthwise:,d} + pointwise {separable.pointwise:,d})"
)
print(f"ratio {separable.total / standard:.4f} = 1/64 + 1/9 = {analysis.separable_cost_ratio(64, 3):.4f}")

# %% [markdown]
# ## The 1x1 "bottleneck" of Inception
#
# The notes' example: 28x28x192 → 32 channels with a 5x5 conv directly, or through a 16-channel
# 1x1 bottleneck first.

# %%
direct = analysis.conv_macs(28, 28, 192, 32, 5)
bottleneck = analysis.conv_macs(28, 28, 192, 16, 1) + analysis.conv_macs(28, 28, 16, 32, 5)
print(f"5x5 directly: {direct / 1e6:.1f} M MACs; 1x1 then 5x5: {bottleneck / 1e6:.1f} M MACs")

# %% [markdown]
# ## Receptive fields grow with depth
#
# Each layer adds $(k-1) \cdot d \cdot j$ to the receptive field, where the jump $j$ is the
# product of the strides before it. For a ResNet built for CIFAR (`resnet_cifar(depth=20)`):

# %%
resnet20 = models.resnet_cifar(depth=20)
fields = analysis.receptive_fields(resnet20)
convs = [rf for rf in fields if rf.class_name == "Conv2D"]
for rf in convs[:: max(1, len(convs) // 6)] + [convs[-1]]:
    print(f"{rf.name:28s} receptive field {rf.receptive_field:3d}, jump {rf.jump}")
print(f"ResNet-20: {resnet20.count_params():,d} parameters, {analysis.total_macs(resnet20):,d} MACs per 32x32 image")

# %% [markdown]
# ## EfficientNet's compound scaling
#
# EfficientNet scales depth, width and resolution together: $d = \alpha^\phi$, $w = \beta^\phi$,
# $r = \gamma^\phi$ with $\alpha \beta^2 \gamma^2 \approx 2$, so each step of $\phi$ about doubles the
# computation.

# %%
from kerasdl.models.efficientnet import compound_scaling

print("phi  depth  width  resolution (pixels)  FLOPs multiplier")
for phi in range(0, 4):
    s = compound_scaling(phi)
    print(f"{phi:3d}  {s.depth:5.3f}  {s.width:5.3f}  {s.resolution:5.3f} ({s.resolution_pixels})  {s.flops:16.3f}")
