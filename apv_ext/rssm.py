"""The action-free RSSM of APV's video prediction model."""
from dreamerv2 import rssm


class ActionFreeRSSM(rssm.RSSM):
  """DreamerV2's RSSM with no action input: h_t = GRU(ELU(Dense(z_{t-1})), h_{t-1}).

  The same class (and attribute name `af_rssm`) is used in pre-training and in the
  stacked fine-tuning model, so its weights load by name.
  """

  def __init__(self, embed_dim, deter=1024, hidden=1024, stoch=32, discrete=32, act='elu', name='af_rssm'):
    super().__init__(embed_dim, 0, deter, hidden, stoch, discrete, act, name=name)

  def img_step(self, prev, action=None, seed=None):
    """Prior step from the previous state alone; `action` must be None (or zero-width)."""
    assert action is None or action.shape[-1] == 0, 'ActionFreeRSSM takes no action.'
    return super().img_step(prev, None, seed)

  def observe(self, embed, is_first, seeds, state=None):
    """embed [B, T, E], is_first [B, T], seeds [T, 2] -> post, prior of [B, T, ...]."""
    return super().observe(embed, None, is_first, seeds, state)

  def rollout(self, state, seeds):
    """Open-loop prior rollout from `state` for len(seeds) steps."""
    import tensorflow as tf
    batch = tf.shape(state['deter'])[0]
    empty = tf.zeros([batch, seeds.shape[0], 0])
    return self.imagine(empty, state, seeds)
