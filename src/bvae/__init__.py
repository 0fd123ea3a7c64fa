"""bvae: the ELBO lower bound of the Bernoulli VAE, its optimum, and the networks it initialises."""

__version__ = "0.1.0"
