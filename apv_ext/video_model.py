"""The action-free video prediction model of APV's pre-training stage (paper 3.1)."""
import numpy as np
import tensorflow as tf

from dreamerv2 import agent as agent_lib
from dreamerv2 import dists
from dreamerv2 import nets
from dreamerv2 import ops
from dreamerv2 import optim
from dreamerv2 import precision
from dreamerv2 import report

from . import rssm as rssm_lib


class VideoModel(tf.Module):
  """Encoder -> action-free RSSM -> decoder, trained with image NLL + kl_scale * KL.

  Attribute names (`encoder`, `af_rssm`, `decoder`) are the checkpoint keys that
  fine-tuning loads by name.
  """

  def __init__(self, config, name='model'):
    super().__init__(name)
    self.config = config
    precision.set_precision(config.precision)
    with self.name_scope:
      self.rng = tf.random.Generator.from_seed(config.seed)
      self.encoder = nets.Encoder(**config.encoder)
      self.af_rssm = rssm_lib.ActionFreeRSSM(self.encoder.embed_dim, **config.apv.af_rssm)
      self.decoder = nets.Decoder(self.af_rssm.feat_dim, **config.decoder, name='decoder')
      variables = [v for m in (self.encoder, self.af_rssm, self.decoder) for v in m.trainable_variables]
      self.opt = optim.Adam(variables, **config.model_opt, name='opt')
      self.loss_scale = optim.LossScale(str(config.precision) == '16')
    jit = agent_lib.resolve_jit(config.jit)
    self._train = tf.function(self._train_impl, jit_compile=jit)
    self._eval = tf.function(self._eval_impl, jit_compile=jit)
    self._report = tf.function(self._report_impl)

  def _seeds(self, n):
    return agent_lib.stateless_seeds(self.rng, n)

  def loss(self, data, seeds):
    embed = self.encoder(data['image'])
    post, prior = self.af_rssm.observe(embed, data['is_first'], seeds)
    kl_loss, kl_value = ops.kl_balance(post['logit'], prior['logit'], **self.config.kl)
    image_loss = dists.image_nll(self.decoder(self.af_rssm.get_feat(post)), data['image'])
    loss = self.config.loss_scales.image * image_loss + self.config.loss_scales.kl * kl_loss
    metrics = {'image_loss': image_loss, 'kl_loss': kl_loss, 'model_loss': loss,
               **report.latent_metrics(post, prior, kl_value)}
    return loss, metrics

  def _train_impl(self, data):
    with tf.GradientTape() as tape:
      loss, metrics = self.loss(data, self._seeds(data['image'].shape[1]))
    metrics.update(optim.minimize(tape, loss, {'model': self.opt}, self.loss_scale))
    return metrics

  def _eval_impl(self, data):
    return self.loss(data, self._seeds(data['image'].shape[1]))[1]

  def train(self, data):
    return {k: v.numpy() for k, v in self._train(data).items()}

  def evaluate(self, data):
    return {k: v.numpy() for k, v in self._eval(data).items()}

  def _report_impl(self, data):
    context = self.config.report_context
    seeds = self._seeds(data['image'].shape[1])
    observe = lambda n: self.af_rssm.observe(
        self.encoder(data['image'][:, :n]), data['is_first'][:, :n], seeds[:n])[0]
    rollout = lambda last: self.af_rssm.rollout(last, seeds[context:])
    decode = lambda state: self.decoder(self.af_rssm.get_feat(state))
    return report.openloop(observe, rollout, decode, context)

  def report(self, data):
    """Open-loop video prediction for the first few sequences (`report.video_grid`)."""
    data = {k: v[:self.config.report_batch] for k, v in data.items()}
    model = self._report(data).numpy()
    return report.video_grid(np.asarray(data['image']), model, self.config.report_context)
