# %% [markdown]
# # 8. Reinforcement learning and AutoML
#
# Course notes: RL with Gym in the IBM course (`003_…`) and MIT 6.S191 lecture 5 (`004_…`: Q-learning
# and deep Q-networks, policy gradients), and MIT's AutoML / neural architecture search.
#
# Two agents on CartPole (keep a pole upright; +1 per step, 500 at most): DQN learns $Q(s, a)$ from
# replayed transitions, REINFORCE learns the policy directly. Then a controller RNN learns which
# CNN architectures to try (Zoph & Le 2017), against random search.

# %%
import os

import numpy as np

import kerasdl  # noqa: F401
import matplotlib.pyplot as plt
from kerasdl.automl import SearchSpace, nas_search, random_search
from kerasdl.rl import DQN, REINFORCE, DQNConfig, REINFORCEConfig
from kerasdl.training import set_seed

SMOKE = os.environ.get("KERASDL_GUIDE_SMOKE") == "1"
set_seed(0)

# %% [markdown]
# ## DQN
#
# The target is the Bellman equation, $y = r + \gamma \max_{a'} Q_{\text{target}}(s', a')$, regressed
# with the Huber loss on mini-batches drawn from a replay buffer; the target network is a copy
# refreshed every few updates, and exploration is $\varepsilon$-greedy with $\varepsilon$ decaying
# linearly. The defaults are the rl-zoo hyperparameters for CartPole. The agent evaluates its greedy
# policy as it goes and keeps the best one (DQN on CartPole often collapses after peaking).

# %%
dqn_config = (
    DQNConfig(total_timesteps=300, learning_starts=100, train_frequency=50, gradient_steps=8) if SMOKE else DQNConfig()
)
dqn = DQN("CartPole-v1", dqn_config)
dqn_result = dqn.learn(
    eval_every=100 if SMOKE else 2500, eval_episodes=3 if SMOKE else 20, target_return=475, progress=False
)
print(
    f"{dqn_result.steps} steps in {dqn_result.seconds:.1f} s; solved at step {dqn_result.solved_at_step}; "
    f"best greedy mean return {dqn_result.best_eval_mean}"
)
print("epsilon at steps 0, 4000, 8000:", [round(dqn.epsilon(s), 3) for s in (0, 4000, 8000)])

# %% [markdown]
# ## REINFORCE with a baseline
#
# The policy gradient $\nabla J = \mathbb{E}[\sum_t \nabla \log \pi(a_t|s_t)\,(G_t - b(s_t))]$: raise
# the log-probability of actions in proportion to the return that followed, minus a learned value
# baseline that reduces the variance.

# %%
pg_config = (
    REINFORCEConfig(total_episodes=16, episodes_per_update=8, hidden_units=(16,))
    if SMOKE
    else REINFORCEConfig(total_episodes=3000)
)
reinforce = REINFORCE("CartPole-v1", pg_config)
pg_result = reinforce.learn(
    eval_every=1 if SMOKE else 10, eval_episodes=3 if SMOKE else 20, target_return=475, progress=False
)
print(
    f"{pg_result.episodes} episodes ({pg_result.env_steps} environment steps) in {pg_result.seconds:.1f} s; "
    f"solved at episode {pg_result.solved_at_episode}"
)
print("greedy returns of the kept policy on 5 fresh episodes:", reinforce.evaluate(episodes=5, seed=123))

# %%
fig, axes = plt.subplots(1, 2, figsize=(9, 3))
for ax, result, xlabel in ((axes[0], dqn_result, "environment step"), (axes[1], pg_result, "episode")):
    for name, (xs, ys) in result.curves.items():
        if len(xs):
            ax.plot(xs, ys, ".-", label=name)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=7)
axes[0].set_title("DQN")
axes[1].set_title("REINFORCE")

# %% [markdown]
# ## Neural architecture search
#
# A search space of small CNNs on the 8x8 digits: per layer, the filters, kernel size and
# pooling. The controller, an LSTM, samples one decision after another; each sampled child
# network is trained briefly and its validation accuracy is the reward for a REINFORCE update of
# the controller (with a moving-average baseline). Random search samples uniformly: the baseline
# every NAS method must beat.

# %%
space = SearchSpace(num_layers=1 if SMOKE else 3)
print(f"{space.size()} architectures in the space")
trials, child_epochs = (2, 1) if SMOKE else (20, 3)
searches = [
    search(trials, space=space, epochs=child_epochs, seed=0, progress=False) for search in (nas_search, random_search)
]
for result in searches:
    summary = result.summary()
    print(
        f"{summary['method']:6s}: best validation accuracy {summary['best_reward']:.3f} "
        f"(trial {summary['best_at_trial']}), mean {summary['mean_reward']:.3f}"
    )
print("best architecture:", searches[0].summary()["best_architecture"])

# %%
fig, ax = plt.subplots(figsize=(5, 3))
for result in searches:
    ax.plot(np.arange(1, len(result.rewards) + 1), result.best_so_far, "o-", label=result.method)
ax.set_xlabel("child trainings")
ax.set_ylabel("best validation accuracy so far")
ax.legend()

# %% [markdown]
# `python benchmarks/rl.py --parts dqn,sb3 --seeds 0 1 2` compares kerasdl's DQN with
# Stable-Baselines3 on the same hyperparameters (solved on 3/3 seeds, median 20.8 s against 73.5 s),
# and records REINFORCE and the NAS run: see [Benchmarks](../benchmarks.md). The apps are
# `kerasdl dqn`, `kerasdl reinforce` and `kerasdl nas`.
