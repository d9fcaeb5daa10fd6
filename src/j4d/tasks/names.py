"""The names of the task settings, importable without torch (the command line's options)."""

#: Names of the task losses (``TrainConfig.task_loss``).
TASK_LOSSES = ("cross_entropy", "distillation")
#: How several models' task losses combine (``TrainConfig.model_pooling``): their mean, or the
#: worst of them in each batch.
MODEL_POOLINGS = ("mean", "worst")
