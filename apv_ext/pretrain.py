"""The action-free video prediction model of APV's pre-training stage (paper 3.1)."""
import tensorflow as tf

from dreamerv2 import agent as agent_lib
from dreamerv2 import dists
from dreamerv2 import nets
from dreamerv2 import ops
from dreamerv2 import optim
from dreamerv2 import precision
from dreamerv2 import world_model

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
    metrics = {'image_loss': image_loss, 'kl_loss': kl_loss, 'model_kl': tf.reduce_mean(kl_value),
               'model_loss': loss, 'post_ent': tf.reduce_mean(dists.categorical(post['logit']).entropy()),
               'prior_ent': tf.reduce_mean(dists.categorical(prior['logit']).entropy())}
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
    embed = self.encoder(data['image'][:, :context])
    post, _ = self.af_rssm.observe(embed, data['is_first'][:, :context], seeds[:context])
    recon = self.decoder(self.af_rssm.get_feat(post)) + 0.5
    last = {k: v[:, -1] for k, v in post.items()}
    prior = self.af_rssm.rollout(last, seeds[context:])
    openl = self.decoder(self.af_rssm.get_feat(prior)) + 0.5
    return world_model.video_grid(data['image'], recon, openl)

  def report(self, data):
    """Truth | model (context reconstruction, then open-loop prior) | error: [T, 3H, nW, 3]."""
    data = {k: v[:self.config.report_batch] for k, v in data.items()}
    return self._report(data).numpy()
