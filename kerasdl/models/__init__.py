"""Functional-API model builders, one module per family.

Every builder is a plain function returning a ``keras.Model`` with deterministic layer
names, validates its arguments up front (``ValueError`` naming the argument), and accepts
the keyword arguments ``input_shape`` and ``num_classes``, so the command line can call
``BUILDERS[name](input_shape=..., num_classes=...)``.

=====================  ==================================  =====================
builder                reference                           parameters (defaults)
=====================  ==================================  =====================
logistic_regression    binary logistic regression          prod(input_shape) + 1
softmax_regression     multinomial logistic regression     (prod + 1) * classes
mlp                    multilayer perceptron               535,818 (28x28, 10)
mnist_cnn              TF "Deep MNIST" CNN                 3,274,634
lenet5                 LeCun et al. 1998                   61,706
alexnet                Krizhevsky et al. 2012              62,378,344
vgg16                  Simonyan & Zisserman 2014 (D)       138,357,544
vgg19                  Simonyan & Zisserman 2014 (E)       143,667,240
googlenet              Szegedy et al. 2014                 6,998,552
mobilenet              Howard et al. 2017                  4,253,864
mobilenet_v2           Sandler et al. 2018                 3,538,984
resnet18               He et al. 2015 (basic, 2-2-2-2)     11,699,112
resnet34               He et al. 2015 (basic, 3-4-6-3)     21,814,696
resnet50               He et al. 2015 (bottleneck)         25,636,712
resnet101              He et al. 2015                      44,707,176
resnet152              He et al. 2015                      60,419,944
resnet50_v2            He et al. 2016 (pre-activation)     25,613,800
resnet101_v2           He et al. 2016                      44,675,560
resnet152_v2           He et al. 2016                      60,380,648
resnet_cifar           He et al. 2015 §4.2 (depth 20)      274,042
efficientnet_b0        Tan & Le 2019 (224)                 5,330,571
efficientnet_b1        Tan & Le 2019 (240)                 7,856,239
efficientnet_b2        Tan & Le 2019 (260)                 9,177,569
efficientnet_b3        Tan & Le 2019 (300)                 12,320,535
efficientnet_b4        Tan & Le 2019 (380)                 19,466,823
efficientnet_b5        Tan & Le 2019 (456)                 30,562,527
efficientnet_b6        Tan & Le 2019 (528)                 43,265,143
efficientnet_b7        Tan & Le 2019 (600)                 66,658,687
=====================  ==================================  =====================

Builders that return several networks or non-classifier outputs live beside them and are
not in ``BUILDERS`` (``kerasdl train`` trains classifiers): ``dense_autoencoder`` /
``conv_autoencoder`` (encoder, decoder, autoencoder), ``vae_encoder`` / ``vae_decoder``
(keras.io VAE: 69,076 + 65,089), ``gan_mlp`` and ``dcgan`` (TensorFlow DCGAN tutorial:
generator 2,330,944, discriminator 212,865), defined in :mod:`kerasdl.generative` with their
training models and re-exported here, and ``unet`` (Ronneberger et al. 2015: 31,030,658
at 572x572x1, valid padding, 2 classes). Task networks live with their task and import
builders from here, never the other way: ``yolo_detector`` and ``localizer`` in
:mod:`kerasdl.detection.yolo`, ``embedding_network`` in :mod:`kerasdl.verification.embedding`
(``kerasdl.models.siamese`` re-exports it). Sequence models (token ids in) are in :mod:`kerasdl.models.rnn`:
``rnn_classifier`` (many-to-one; 2,609,473 at 20k vocabulary, 128-d, LSTM 64),
``rnn_tagger`` (many-to-many), ``embedding_bag_classifier`` (fastText-style bag) and
``char_language_model`` (char-rnn; ``char_lm_step_model`` carries the state when sampling).
"""

from kerasdl.models.alexnet import alexnet
from kerasdl.generative.autoencoder_networks import AutoencoderParts, autoencoder, conv_autoencoder, dense_autoencoder
from kerasdl.models.convolutionalize import convolutionalize, sliding_window_stride
from kerasdl.models.efficientnet import (  # the generic efficientnet() stays in its module
    efficientnet_b0,
    efficientnet_b1,
    efficientnet_b2,
    efficientnet_b3,
    efficientnet_b4,
    efficientnet_b5,
    efficientnet_b6,
    efficientnet_b7,
)
from kerasdl.generative.gan_networks import dcgan, gan_mlp
from kerasdl.models.inception import googlenet
from kerasdl.models.lenet import lenet5
from kerasdl.models.linear import logistic_regression, softmax_regression
from kerasdl.models.mlp import mlp
from kerasdl.models.mnist_cnn import mnist_cnn
from kerasdl.models.mobilenet import mobilenet, mobilenet_v2
from kerasdl.models.rnn import char_language_model, embedding_bag_classifier, rnn_classifier, rnn_tagger
from kerasdl.models.unet import unet
from kerasdl.models.resnet import (
    resnet18,
    resnet34,
    resnet50,
    resnet50_v2,
    resnet101,
    resnet101_v2,
    resnet152,
    resnet152_v2,
    resnet_cifar,
)
from kerasdl.generative.vae_networks import vae_decoder, vae_encoder
from kerasdl.models.vgg import vgg16, vgg19

BUILDERS = {
    "logistic_regression": logistic_regression,
    "softmax_regression": softmax_regression,
    "mlp": mlp,
    "mnist_cnn": mnist_cnn,
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg16": vgg16,
    "vgg19": vgg19,
    "googlenet": googlenet,
    "mobilenet": mobilenet,
    "mobilenet_v2": mobilenet_v2,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "resnet50": resnet50,
    "resnet101": resnet101,
    "resnet152": resnet152,
    "resnet50_v2": resnet50_v2,
    "resnet101_v2": resnet101_v2,
    "resnet152_v2": resnet152_v2,
    "resnet_cifar": resnet_cifar,
    "efficientnet_b0": efficientnet_b0,
    "efficientnet_b1": efficientnet_b1,
    "efficientnet_b2": efficientnet_b2,
    "efficientnet_b3": efficientnet_b3,
    "efficientnet_b4": efficientnet_b4,
    "efficientnet_b5": efficientnet_b5,
    "efficientnet_b6": efficientnet_b6,
    "efficientnet_b7": efficientnet_b7,
}

__all__ = [
    "BUILDERS",
    "AutoencoderParts",
    "autoencoder",
    "conv_autoencoder",
    "dcgan",
    "dense_autoencoder",
    "char_language_model",
    "embedding_bag_classifier",
    "rnn_classifier",
    "rnn_tagger",
    "unet",
    "gan_mlp",
    "vae_decoder",
    "vae_encoder",
    "alexnet",
    "convolutionalize",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "sliding_window_stride",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnet50_v2",
    "resnet101_v2",
    "resnet152_v2",
    "resnet_cifar",
    "googlenet",
    "mobilenet",
    "mobilenet_v2",
    "lenet5",
    "logistic_regression",
    "mlp",
    "mnist_cnn",
    "softmax_regression",
    "vgg16",
    "vgg19",
]
