"""APV's stacked world model: an action-conditional RSSM on top of the action-free one."""
import tensorflow as tf

from dreamerv2 import ops
from dreamerv2 import rssm as rssm_lib
from dreamerv2 import world_model

from . import intrinsic
from . import rssm as apv_rssm


class APVWorldModel(world_model.WorldModel):
  """Overrides these seams of the DreamerV2 world model:

  extra_modules      the action-free RSSM `af_rssm` (from pre-training) and the bonus `intr`
  make_rssm          the action-conditional `rssm`, which observes the action-free feature
  embed              the action-conditional RSSM observes the action-free posterior feature
                     (concatenated with the encoder embedding if apv.concat_embed)
  reward_target      adds beta x the video-based bonus on the first T - L + 1 steps
  optimizer_groups   {encoder, af_rssm} and {rssm, heads}, each with its own optimiser
  frozen_groups      {af} with apv.frozen_af (an ablation with no counterpart in the reference)
  The policy latent holds the two RSSMs' states separately.
  """

  def extra_modules(self, config):
    modules = {'af_rssm': apv_rssm.ActionFreeRSSM(self.encoder.embed_dim, **config.apv.af_rssm)}
    if config.intr.enabled:
      modules['intr'] = intrinsic.IntrinsicBonus(
          modules['af_rssm'].feat_dim, config.intr.window, config.intr.queue, config.intr.k, config.intr.proj_dim,
          config.intr.ema, config.intr.exclude_self, seed=config.seed)
    return modules

  def make_rssm(self, config, act_dim):
    inp = self.af_rssm.feat_dim + (self.encoder.embed_dim if config.apv.concat_embed else 0)
    return rssm_lib.RSSM(inp, act_dim, **config.rssm, name='rssm')

  def _rssm_input(self, embed, af_state):
    feat = self.af_rssm.get_feat(af_state)
    if self.config.apv.concat_embed:
      return tf.concat([tf.cast(embed, feat.dtype), feat], -1), feat
    return feat, feat

  def embed(self, data, seeds):
    embed = self.encoder(data['image'])
    af_post, af_prior = self.af_rssm.observe(embed, data['is_first'], seeds)
    # Logged with scale loss_scales.af_kl (0 in the paper): the action-free model is
    # trained only through the action-conditional model's losses.
    af_kl_loss, af_kl = ops.kl_balance(af_post['logit'], af_prior['logit'], **self.config.kl)
    inp, feat = self._rssm_input(embed, af_post)
    return inp, {'af_kl': af_kl_loss}, {'af_feat': feat, 'af_kl_value': af_kl}

  def reward_target(self, data, outs):
    reward = tf.cast(data['reward'], tf.float32)
    if not self.config.intr.enabled:
      return reward, tf.ones_like(reward), {}
    bonus, metrics = self.intr(outs['af_feat'])
    steps = tf.shape(bonus)[1]
    # Step t's bonus looks at frames t .. t+L-1, so only the first T-L+1 steps get one;
    # the reward loss covers just those steps.
    target = tf.concat([reward[:, :steps] + self.config.intr.beta * bonus, reward[:, steps:]], 1)
    weight = tf.concat([tf.ones_like(bonus), tf.zeros_like(reward[:, steps:])], 1)
    return target, weight, metrics

  def optimizer_groups(self):
    af = list(self.encoder.trainable_variables) + list(self.af_rssm.trainable_variables)
    rest = list(self.rssm.trainable_variables)
    for head in self.heads.values():
      rest += list(head.trainable_variables)
    return {'af': af, 'model': rest}

  def pretrained_modules(self):
    return {'encoder': self.encoder, 'af_rssm': self.af_rssm, 'decoder': self.heads['decoder']}

  def frozen_groups(self):
    # Frozen for the whole run: not even weight decay touches the pre-trained weights,
    # and no gradients are computed for them.
    return {'af'} if self.config.apv.frozen_af else set()

  def initial_latent(self, batch):
    return {'af': self.af_rssm.initial(batch), 'ac': self.rssm.initial(batch)}

  def observe_step(self, latent, prev_action, obs, seeds):
    embed = self.encoder(obs['image'])
    af = self.af_rssm.obs_step(latent['af'], None, embed, obs['is_first'], seeds[0])
    inp, _ = self._rssm_input(embed, af)
    ac = self.rssm.obs_step(latent['ac'], prev_action, inp, obs['is_first'], seeds[1])
    return {'af': af, 'ac': ac}, self.rssm.get_feat(ac)
