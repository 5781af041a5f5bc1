"""A few training steps of a custom-``train_step`` model under a distribution strategy.

Run by ``tests/test_distribute.py`` in a fresh process, because logical devices must be
configured before TensorFlow initialises them:

    python tests/distributed_worker.py single|mirrored|multiworker OUT.npz

``single``: one CPU device. ``mirrored``: ``MirroredStrategy`` over two logical CPU devices.
``multiworker``: ``MultiWorkerMirroredStrategy``, the cluster given by ``TF_CONFIG``. Every
mode trains the same model from the same initial weights on the same global batches, then
saves the final weights and the loss history to ``OUT.npz``.
"""

import sys

GLOBAL_BATCH = 16
STEPS_PER_EPOCH = 4
EPOCHS = 2


def main(mode: str, out: str) -> None:
    import tensorflow as tf

    if mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np

    from kerasdl.training import strategy
    from kerasdl.training.adversarial import AdversarialModel

    if mode == "single":
        chosen = tf.distribute.OneDeviceStrategy("/cpu:0")
    elif mode == "mirrored":
        chosen = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    else:
        chosen = strategy("multiworker")

    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, (GLOBAL_BATCH * STEPS_PER_EPOCH, 6, 6, 1)).astype("float32")
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype("int32")
    with chosen.scope():
        keras.utils.set_random_seed(0)  # same initial weights in every mode and worker
        classifier = keras.Sequential(
            [
                keras.Input((6, 6, 1)),
                keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
                keras.layers.Flatten(name="flatten"),
                keras.layers.Dense(2, name="logits"),
            ]
        )
        # FGSM adversarial training: a deterministic custom train_step (no random start).
        model = AdversarialModel(classifier, attack="fgsm", eps=0.05, alpha=0.5, attack_options={"from_logits": True})
        model.compile(
            optimizer=keras.optimizers.SGD(0.5), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    if mode == "multiworker":  # each worker takes its half of every global batch
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        dataset = dataset.with_options(options)
    history = model.fit(dataset, epochs=EPOCHS, verbose=0)
    np.savez(
        out,
        loss=np.asarray(history.history["loss"]),
        replicas=chosen.num_replicas_in_sync,
        **{f"w{i}": w for i, w in enumerate(classifier.get_weights())},
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
