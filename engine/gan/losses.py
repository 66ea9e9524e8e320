# SPDX-License-Identifier: MIT
"""Adversarial losses: WGAN-GP for the hybrid, the standard GAN loss for the DCGAN baseline.

The generator's logits become the critic's input through a sigmoid, so fake phrases are
continuous in [0, 1] while real ones are exactly 0 or 1 (MuseGAN trains the same way).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.gan.model import PhraseCritic


def gradient_penalty(
    critic: PhraseCritic,
    real: tuple[Tensor, Tensor],
    fake: tuple[Tensor, Tensor],
    generator: torch.Generator | None = None,
) -> Tensor:
    """WGAN-GP's penalty: ``mean((|grad critic(x)|_2 - 1)^2)`` at points ``x`` drawn uniformly
    between each real phrase and its fake partner (one mix ratio per phrase)."""
    batch = real[0].shape[0]
    alpha = torch.rand(
        (batch, 1, 1, 1, 1), generator=generator, device=generator.device if generator else None
    ).to(real[0].device, real[0].dtype)
    mixed = [
        (alpha * r + (1 - alpha) * f.detach()).requires_grad_(True)
        for r, f in zip(real, fake, strict=True)
    ]
    scores = critic.score(mixed[0], mixed[1])
    grads = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    flat = torch.cat([g.reshape(batch, -1) for g in grads], dim=1)
    penalty: Tensor = ((flat.norm(2, dim=1) - 1) ** 2).mean()
    return penalty


def critic_loss(
    loss: str,
    critic: PhraseCritic,
    real: tuple[Tensor, Tensor],
    fake: tuple[Tensor, Tensor],
    gp_weight: float,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, dict[str, float]]:
    """The critic's (discriminator's) loss on one batch, and figures to log.

    ``loss`` is ``"wgan-gp"`` (``critic(fake) - critic(real) + gp_weight * penalty``) or
    ``"bce"`` (sigmoid cross-entropy: real phrases labelled 1, fake 0).
    """
    real_score = critic.score(*real)
    fake_score = critic.score(*(f.detach() for f in fake))
    if loss == "wgan-gp":
        distance = real_score.mean() - fake_score.mean()
        penalty = gradient_penalty(critic, real, fake, generator)
        total = -distance + gp_weight * penalty
        return total, {
            "d_loss": total.item(),
            "w_distance": distance.item(),
            "gp": penalty.item(),
        }
    if loss == "bce":
        total = F.binary_cross_entropy_with_logits(
            real_score, torch.ones_like(real_score)
        ) + F.binary_cross_entropy_with_logits(fake_score, torch.zeros_like(fake_score))
        return total, {"d_loss": total.item()}
    raise ValueError(f"loss must be 'wgan-gp' or 'bce', got {loss!r}")


def generator_loss(
    loss: str, critic: PhraseCritic, fake: tuple[Tensor, Tensor]
) -> tuple[Tensor, dict[str, float]]:
    """The generator's loss: ``-critic(fake)`` (WGAN) or cross-entropy towards "real" (BCE)."""
    score = critic.score(*fake)
    if loss == "wgan-gp":
        total = -score.mean()
    elif loss == "bce":
        total = F.binary_cross_entropy_with_logits(score, torch.ones_like(score))
    else:
        raise ValueError(f"loss must be 'wgan-gp' or 'bce', got {loss!r}")
    return total, {"g_loss": total.item()}
