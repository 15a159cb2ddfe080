"""KOLs (influencers): a few Mesa agents, each with a follower set."""

from __future__ import annotations

import mesa
import numpy as np


class KOL(mesa.Agent):
    """An influencer with ``followers`` directed follower edges.

    ``engagement_rate``: probability per post that one follower engages
    (clicks, likes, comments), falling with the audience share a = followers / N:
    ``engagement_at_1pct * (a / 0.01) ** -engagement_elasticity``.
    ``post_prob``: probability per day of an organic post (posts per week / 7).
    """

    def __init__(self, model: mesa.Model, index: int, followers: int, engagement_rate: float,
                 post_prob: float):
        super().__init__(model)
        self.index = index  # row in the follower graph
        self.followers = int(followers)
        self.engagement_rate = float(engagement_rate)
        self.post_prob = float(post_prob)
        self.posted_today = False
        self.posts = 0

    @staticmethod
    def engagement_for(followers: np.ndarray, consumers: int, at_1pct: float, elasticity: float) -> np.ndarray:
        """Engagement probability per post by audience share (scale-free: the same at any N)."""
        share = np.maximum(followers, 1) / consumers
        return np.clip(at_1pct * (share / 0.01) ** (-elasticity), 0.0, 1.0)

    def decide_post(self, rng: np.random.Generator) -> bool:
        """Post today or not (one Bernoulli draw from the KOL stream)."""
        self.posted_today = bool(rng.random() < self.post_prob)
        self.posts += self.posted_today
        return self.posted_today
