"""Pure functions for the math of DreamerV2: lambda returns and KL balancing."""
import tensorflow as tf

from . import dists


def lambda_return(reward, value, discount, bootstrap, lambda_):
  """TD(lambda) returns along axis 0.

  R_t = r_t + d_t * ((1 - lambda) * v_{t+1} + lambda * R_{t+1}),  R_H = bootstrap,
  where v_{t+1} is value[t + 1] and, for the last step, the bootstrap.

  Args: reward, value, discount [H, ...]; bootstrap [...]. Returns [H, ...].
  """
  next_value = tf.concat([value[1:], bootstrap[None]], 0)
  inputs = reward + discount * next_value * (1 - lambda_)

  def step(acc, xs):
    inp, disc = xs
    return inp + disc * lambda_ * acc

  return tf.scan(step, (inputs, discount), bootstrap, reverse=True)


def kl_balance(post_logits, prior_logits, balance=0.8, free=0.0):
  """KL balancing with free nats averaged over the batch (DreamerV2, free_avg).

  loss = balance * max(mean KL(sg(q) || p), free) + (1 - balance) * max(mean KL(q || sg(p)), free)
  The first term trains the prior towards the posterior, the second regularises
  the posterior, and `balance` > 0.5 lets the prior move faster.

  Args: logits [..., stoch, discrete]. Returns (scalar loss, KL value [...]).
  """
  sg = tf.stop_gradient
  post, prior = dists.categorical(post_logits), dists.categorical(prior_logits)
  value = post.kl_divergence(prior)
  train_prior = dists.categorical(sg(post_logits)).kl_divergence(prior)
  train_post = post.kl_divergence(dists.categorical(sg(prior_logits)))
  loss = (balance * tf.maximum(tf.reduce_mean(train_prior), free)
          + (1 - balance) * tf.maximum(tf.reduce_mean(train_post), free))
  return loss, value
