"""The live latent explorer behind `app.py`, one module per concern.

Model logic, usable without Gradio: `registry` (which models are served), `codes` (validating values, controls,
share links), `rendering` (images, traversals), `encoding` (uploads and sketches read by Q), `outputs` (rendered
files), `limits` (the server's caps), `facts` and `lesson` (the Learn tab's text), `live_training` and
`training_run` (the Train tab's backend: one live training at a time).
The page, the only modules that import Gradio: `tabs` (layout), `callbacks`, `training_tab` (the Train tab), `ui`
(wiring, `build_demo`, `launch`).
"""
