"""Label-free adaptation to a user's own footage: pseudo-labels from the model's agreeing views,
then the real-data fine-tuning recipe (``infantpose adapt``)."""

from infantpose.adapt.pseudo_labels import VIEWS, PseudoLabel, agreement, temporal_mask, view_predictions
from infantpose.adapt.run import AdaptOptions, label_frame, pseudo_label, training_values

__all__ = ["VIEWS", "AdaptOptions", "PseudoLabel", "agreement", "label_frame", "pseudo_label",
           "temporal_mask", "training_values", "view_predictions"]
