"""kerasdl.layers.hub.HubLayer: a TF Hub-format SavedModel in a Keras 3 model, frozen or
fine-tuned with Adam (the optimizer TFSMLayer fails with), and its round trips."""

import numpy as np
import pytest

POSITIVE = ["a great fun movie", "wonderful acting and a great story", "i loved it", "brilliant and moving"]
NEGATIVE = ["a boring awful movie", "terrible acting and a dull story", "i hated it", "bad and tedious"]


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory):
    from kerasdl.text.encoders import export_small_text_encoder

    path = tmp_path_factory.mktemp("hub") / "encoder"
    return export_small_text_encoder(path, POSITIVE + NEGATIVE, embedding_dim=8, seed=0)


def _data():
    texts = np.array((POSITIVE + NEGATIVE) * 4, dtype=object)
    labels = np.array(([1.0] * 4 + [0.0] * 4) * 4, "float32")
    return texts, labels


def _classifier(encoder):
    import keras

    text = keras.Input(shape=(), dtype="string", name="text")
    probability = keras.layers.Dense(1, activation="sigmoid", name="head")(encoder(text))
    model = keras.Model(text, probability)
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy")
    return model


@pytest.mark.learned
def test_fine_tune_with_adam_changes_encoder_and_lowers_loss(encoder_dir, tmp_path):
    import keras
    import tensorflow as tf

    from kerasdl.export import export_saved_model, load_keras, save_keras
    from kerasdl.layers.hub import HubLayer

    keras.utils.set_random_seed(0)
    encoder = HubLayer(encoder_dir, trainable=True, name="encoder")
    assert [w.name for w in encoder.trainable_weights] == ["embedding_embeddings"]  # no ":0" (Adam slot names)
    # The Keras weight *is* the SavedModel's variable: updates reach the hub model itself.
    assert encoder.trainable_weights[0].value is encoder._hub_model.trainable_variables[0]
    model = _classifier(encoder)
    before = encoder.trainable_weights[0].numpy().copy()
    texts, labels = _data()
    history = model.fit(texts, labels, epochs=6, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    assert np.abs(encoder.trainable_weights[0].numpy() - before).max() > 1e-2
    probabilities = model.predict(np.array(["great movie", "awful movie"], dtype=object), verbose=0)[:, 0]
    assert probabilities[0] > 0.5 > probabilities[1]

    # .keras round trip: reloads the hub model from its handle, then the fine-tuned weights.
    reloaded = load_keras(save_keras(model, tmp_path / "model.keras"))
    np.testing.assert_allclose(reloaded.predict(texts, verbose=0), model.predict(texts, verbose=0), atol=1e-6)
    # SavedModel round trip: the fine-tuned encoder is inside; the client needs only TensorFlow.
    export = export_saved_model(model, tmp_path / "export")
    loaded = tf.saved_model.load(str(export))  # keep a reference: its variables live as long as it does
    served = loaded.serve(tf.constant(texts))
    np.testing.assert_allclose(served.numpy(), model.predict(texts, verbose=0), atol=1e-6)


@pytest.mark.learned
def test_frozen_layer_keeps_encoder_weights(encoder_dir):
    from kerasdl.layers.hub import HubLayer

    encoder = HubLayer(encoder_dir, trainable=False)
    assert encoder.trainable_weights == [] and len(encoder.non_trainable_weights) == 1
    model = _classifier(encoder)
    assert [w.name for w in model.trainable_weights] == ["kernel", "bias"]
    before = encoder.weights[0].numpy().copy()
    texts, labels = _data()
    history = model.fit(texts, labels, epochs=3, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]  # the head still learns
    np.testing.assert_array_equal(encoder.weights[0].numpy(), before)


def test_signature_and_output_key(encoder_dir):
    import tensorflow as tf

    from kerasdl.layers.hub import HubLayer

    by_call = HubLayer(encoder_dir)
    by_signature = HubLayer(encoder_dir, signature="serving_default", output_key="embeddings")
    x = tf.constant(["i loved it", ""])
    np.testing.assert_allclose(by_signature(x).numpy(), by_call(x).numpy(), atol=1e-6)
    assert by_call(x).shape == (2, 8)
    np.testing.assert_array_equal(by_call(x).numpy()[1], np.zeros(8))  # empty text: zero vector, not NaN
    with pytest.raises(ValueError, match="signature 'nope'"):
        HubLayer(encoder_dir, signature="nope")
    with pytest.raises(ValueError, match="output_key 'missing'"):
        HubLayer(encoder_dir, signature="serving_default", output_key="missing")(x)


def test_keras_export_is_loadable_through_serve_signature(tmp_path):
    """A plain model.export() SavedModel (no __call__): called through 'serve', fine-tuned with Adam."""
    import keras

    from kerasdl.export import export_saved_model
    from kerasdl.layers.hub import HubLayer

    keras.utils.set_random_seed(0)
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")], name="inner")
    path = export_saved_model(inner, tmp_path / "dense")
    layer = HubLayer(path, trainable=True)
    assert sorted(w.name for w in layer.trainable_weights) == ["inner_dense_bias", "inner_dense_kernel"]
    x = keras.Input((4,))
    model = keras.Model(x, layer(x))
    # keras.layers.TFSMLayer fails here: "'..._kernel:0_momentum' is not a valid scope name".
    model.compile("adam", "mse")
    before = [w.numpy().copy() for w in layer.trainable_weights]
    model.fit(np.ones((8, 4), "float32"), np.zeros((8, 3), "float32"), epochs=2, verbose=0)
    assert any(np.abs(w.numpy() - b).max() > 0 for w, b in zip(layer.trainable_weights, before))


def test_missing_handles_give_clear_errors(tmp_path, monkeypatch):
    from kerasdl.layers.hub import HubLayer, HubModelNotFoundError, resolve_handle

    with pytest.raises(FileNotFoundError, match="not a SavedModel folder"):
        HubLayer(tmp_path / "nothing-here")
    with pytest.raises(ValueError, match="handle must be"):
        resolve_handle("")
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "hub-cache"))
    monkeypatch.setenv("KERASDL_OFFLINE", "1")
    handle = "https://tfhub.dev/google/nnlm-en-dim50/2"
    with pytest.raises(HubModelNotFoundError, match="nnlm-en-dim50.*local path"):
        resolve_handle(handle)
    # Online attempt on a machine without internet: the download error is reported the same way.
    monkeypatch.setenv("KERASDL_OFFLINE", "0")
    import tensorflow_hub as hub

    def no_network(handle):
        raise OSError("Name or service not known")

    monkeypatch.setattr(hub, "resolve", no_network)
    with pytest.raises(HubModelNotFoundError, match="could not load TF Hub model"):
        resolve_handle(handle)


def test_handle_in_tf_hub_cache_loads_offline(encoder_dir, tmp_path, monkeypatch):
    """A URL handle whose files are in $TFHUB_CACHE_DIR loads without any network."""
    import hashlib
    import shutil

    from kerasdl.layers.hub import HubLayer

    handle = "https://tfhub.dev/kerasdl/test-encoder/1"
    cache = tmp_path / "hub-cache"
    shutil.copytree(encoder_dir, cache / hashlib.sha1(handle.encode()).hexdigest())
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(cache))
    monkeypatch.setenv("KERASDL_OFFLINE", "1")
    layer = HubLayer(handle)
    assert layer(np.array(["i loved it"], dtype=object)).shape == (1, 8)
    assert layer.get_config()["handle"] == handle
