"""The live latent explorer behind `app.py`: model registry, rendering, output files and the Learn tab's lesson.

`app.py` builds the Gradio page from these; nothing here imports Gradio except the UI modules.
"""
