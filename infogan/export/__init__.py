"""Everything a trained model is turned into outside Python's memory.

- `visualize`: sample grids and labelled traversals (torchvision's make_grid), saved as PNG;
- `model_card`: the Hub model card written beside the weights by `InfoGAN.save_pretrained`;
- `annotate`: code and category names written into a checkpoint (`python -m infogan.annotate`);
- `synthesize`: labelled synthetic image folders (`python -m infogan.synthesize`);
- `onnx_export` and `web_site`: the generator as ONNX and the static in-browser explorer
  (`python -m infogan.export_web`).
"""
