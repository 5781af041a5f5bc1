"""kerasdl.automl.nas: search space, LSTM controller, REINFORCE update, tiny searches."""

import numpy as np
import pytest

from kerasdl.automl.nas import (
    NASController,
    SearchSpace,
    child_cnn,
    controller_update,
    digits_search_data,
    nas_search,
    plot_search,
    random_search,
)


def test_search_space_decisions_and_decoding():
    space = SearchSpace(num_layers=2)
    names = [name for name, _ in space.decisions()]
    assert names == [
        "layer1_filters",
        "layer1_kernel_size",
        "layer1_pooling",
        "layer2_filters",
        "layer2_kernel_size",
        "layer2_pooling",
    ]
    assert space.size() == (3 * 2 * 2) ** 2
    assert space.decode([2, 1, 1, 0, 0, 0]) == [
        {"filters": 32, "kernel_size": 5, "pooling": "max"},
        {"filters": 8, "kernel_size": 3, "pooling": "none"},
    ]
    with pytest.raises(ValueError, match="expected 6 decisions"):
        space.decode([0, 0])
    with pytest.raises(ValueError, match="num_layers"):
        SearchSpace(num_layers=0)


def test_child_cnn_follows_the_architecture():
    arch = [{"filters": 8, "kernel_size": 3, "pooling": "max"}, {"filters": 16, "kernel_size": 5, "pooling": "none"}]
    model = child_cnn(arch, (8, 8, 1), 10)
    assert model.get_layer("conv1").output.shape[1:] == (8, 8, 8)
    assert model.get_layer("pool1").output.shape[1:] == (4, 4, 8)
    assert model.get_layer("conv2").output.shape[1:] == (4, 4, 16)
    assert model.count_params() == (3 * 3 * 1 * 8 + 8) + (5 * 5 * 8 * 16 + 16) + (16 * 10 + 10)


def test_controller_samples_valid_choices_step_by_step():
    space = SearchSpace()
    options = [len(o) for _, o in space.decisions()]
    controller = NASController(options, units=16)
    rng = np.random.default_rng(0)
    samples = np.array([controller.sample(rng) for _ in range(20)])
    assert samples.shape == (20, len(options))
    assert (samples >= 0).all() and (samples < np.array(options)).all()
    assert len({tuple(s) for s in samples}) > 10  # an untrained controller explores
    log_prob, entropy = controller(samples)
    assert log_prob.shape == (20,) and entropy.shape == (20,)
    # log P(arch) is a sum of per-decision log-softmaxes: between Σ log(1/n) ± and 0
    assert np.all(log_prob.numpy() < 0) and np.allclose(
        log_prob.numpy(), np.sum(np.log(1 / np.array(options))), atol=1.0
    )


@pytest.mark.learned
def test_reinforce_update_raises_the_probability_of_a_rewarded_architecture():
    from kerasdl.training import make_optimizer

    controller = NASController([3, 2, 2, 3, 2, 2], units=16)
    optimizer = make_optimizer("adam", 0.05)
    rewarded = [2, 1, 0, 0, 1, 1]
    before = float(controller(np.array([rewarded]))[0][0])
    for _ in range(3):
        controller_update(controller, optimizer, [rewarded], [1.0])  # R − b = +1
    after = float(controller(np.array([rewarded]))[0][0])
    assert after > before + 0.5
    penalised = [0, 0, 1, 2, 0, 0]
    before = float(controller(np.array([penalised]))[0][0])
    controller_update(controller, optimizer, [penalised], [-1.0])  # R − b = −1
    assert float(controller(np.array([penalised]))[0][0]) < before


def test_tiny_nas_and_random_search(tmp_path):
    (x_train, y_train), (x_val, y_val) = digits_search_data()
    data = (x_train[:300], y_train[:300]), (x_val[:100], y_val[:100])
    space = SearchSpace(num_layers=1)
    nas = nas_search(3, space=space, data=data, epochs=1, progress=False)
    rnd = random_search(2, space=space, data=data, epochs=1, progress=False)
    for result in (nas, rnd):
        assert len(result.rewards) == len(result.architectures) == len(result.best_so_far)
        assert all(0.0 <= r <= 1.0 for r in result.rewards)
        assert result.best_so_far == list(np.maximum.accumulate(result.rewards))
        assert result.summary()["best_reward"] == max(result.rewards)
    assert nas.baselines[0] == nas.rewards[0] and nas.baselines[1] == pytest.approx(nas.rewards[0])
    assert nas.baselines[2] == pytest.approx(0.8 * nas.rewards[0] + 0.2 * nas.rewards[1])
    assert plot_search([nas, rnd], tmp_path / "search.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="trials must be >= 1"):
        random_search(0, data=data)
