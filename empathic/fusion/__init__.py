"""Decision-fusion ensembles over members' class-probability tables (voting, stacking)."""
from .stacking import LeakageError, Predictions, Stacking, out_of_fold
from .voting import fit_vote_weights, hard_vote, soft_vote, weighted_soft_vote

__all__ = ["LeakageError", "Predictions", "Stacking", "out_of_fold", "fit_vote_weights",
           "hard_vote", "soft_vote", "weighted_soft_vote"]
