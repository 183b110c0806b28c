"""Measurements of a trained InfoGAN: nothing here trains or changes a model.

- `evaluate`: the information terms, accuracy/NMI of the categorical code against labels, and the command
  `python -m infogan.evaluate` that runs every measurement and records it in the checkpoint;
- `purity`: what each category draws, judged by a reference classifier;
- `realism`: a classifier two-sample test of generated against real images;
- `entanglement`: how much moving one continuous code moves the others;
- `disentanglement`: MIG, the FactorVAE score and DCI on data with ground-truth factors (dSprites).
"""
